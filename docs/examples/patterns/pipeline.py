"""PIPELINE: PUSH load-balances work over PULL workers; a PULL fair-queues results."""

import threading
import time

import nanomsg_core as nn

N_WORKERS, N_JOBS = 3, 9

with nn.Socket(nn.AF_SP, nn.PUSH) as ventilator, \
        nn.Socket(nn.AF_SP, nn.FANIN, recv_timeout=5000) as sink:  # FANIN is PULL
    jobs_url = ventilator.endpoint_address(ventilator.bind("tcp://127.0.0.1:0"))
    sink.bind("inproc://results")

    def worker(n: int) -> None:
        with nn.Socket(nn.AF_SP, "pull", connect=jobs_url, recv_timeout=5000) as jobs, \
                nn.Socket(nn.AF_SP, nn.FANOUT, connect="inproc://results") as results:
            while True:
                job = jobs.recv()
                if job == b"stop":
                    return
                results.send(b"worker %d squared %d" % (n, int(job) ** 2))

    workers = [threading.Thread(target=worker, args=(n,)) for n in range(N_WORKERS)]
    for t in workers:
        t.start()
    while len(ventilator.pipes) < N_WORKERS:   # so the jobs spread over all workers
        time.sleep(0.01)
    for job in range(N_JOBS):
        ventilator.send(b"%d" % job)
    results = sorted(sink.recv() for _ in range(N_JOBS))
    for line in results:
        print(line.decode())
    for _ in workers:
        ventilator.send(b"stop")
    for t in workers:
        t.join()
