import asyncio, logging
from tests.integration.test_controllers import *
async def test_dbg(plane, client):
    async with manager(plane, ["replicaset", "deployment", "garbagecollector"]):
        await client.create(deployment("gc", 2, {"app": "gc"}))
        await wait_for(lambda: _count(client, "app=gc", 2), what="pods")
        await client.delete("Deployment", "gc")
        await wait_for(lambda: _none_left(client, "ReplicaSet"), what="RS collected")
        for i in range(20):
            ps = (await client.list("Pod", "default"))["items"]
            print([ (p["metadata"]["name"], p["metadata"].get("ownerReferences"), p["metadata"].get("deletionTimestamp"), p["metadata"].get("finalizers")) for p in ps])
            await asyncio.sleep(0.5)
