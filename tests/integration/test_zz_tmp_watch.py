import asyncio, sys
from tests.integration.test_controllers import test_end_to_end_with_simulated_nodes as e2e


async def test_watch(plane, client):
    async def dog():
        await asyncio.sleep(25)
        for t in asyncio.all_tasks():
            print("TASK", t.get_name(), file=sys.stderr)
            t.print_stack(limit=6, file=sys.stderr)
    d = asyncio.create_task(dog())
    try:
        await e2e(plane, client)
    finally:
        d.cancel()
