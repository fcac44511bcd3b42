"""The kernel manager and client every run uses (prompt_kernels.py): quick to find a kernel
ready, and ready means ready: the first cell's output arrives; a killed kernel is gone."""

import asyncio
from concurrent.futures import ThreadPoolExecutor

import psutil
from jupyter_core.utils import run_sync

from nbsteps.kernels import launch_kernel
from nbsteps.prompt_kernels import PromptKernelClient


async def first_output(km) -> str:
    """What the very first cell prints, read right after wait_for_ready (as nbclient does)."""
    client = km.client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=60)
        msg_id = client.execute("print('first')")
        while True:
            msg = await client.get_iopub_msg(timeout=30)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "stream":
                return msg["content"]["text"]
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                return ""
    finally:
        client.stop_channels()


def test_a_ready_kernel_delivers_its_first_output_and_a_shut_down_one_is_gone(tmp_path):
    for _ in range(3):  # the IOPub subscription races the first request: try it more than once
        km = launch_kernel(tmp_path)
        try:
            assert isinstance(km.client(), PromptKernelClient)
            # On a thread of its own, with its own event loop, as run_step drives kernels
            # (the test's thread may already run a loop).
            with ThreadPoolExecutor(1) as thread:
                assert thread.submit(asyncio.run, first_output(km)).result() == "first\n"
        finally:
            pid = km.provisioner.pid
            run_sync(km.shutdown_kernel)(now=True)
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
