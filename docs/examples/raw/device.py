"""Raw sockets and nn.device(): a REQ/REP broker, and a raw REP answering by header."""

import threading

import nanomsg_core as nn

# 1. A raw REP sees the backtrace in Message.header and routes the reply by it.
with nn.Socket(nn.AF_SP_RAW, nn.REP, recv_timeout=5000) as raw_rep, \
        nn.Socket(nn.AF_SP, nn.REQ, recv_timeout=5000) as req:
    raw_rep.bind("inproc://raw-rep")
    req.connect("inproc://raw-rep")
    req.send(b"what time is it?")
    msg = raw_rep.recv_msg()
    words = [msg.header[i:i + 4].hex() for i in range(0, len(msg.header), 4)]
    print("raw REP got", msg.body, "with backtrace", words)   # pipe id, then request id
    raw_rep.send_msg(nn.Message(b"tea time", header=msg.header))
    print("REQ got", req.recv())

# 2. A device between two raw sockets: clients -> [raw REP | raw REQ] -> workers.
front = nn.Socket(nn.AF_SP_RAW, nn.REP)
back = nn.Socket(nn.AF_SP_RAW, nn.REQ)
front_url = front.endpoint_address(front.bind("tcp://127.0.0.1:0"))
back.bind("inproc://workers")
outcome = []


def run_device() -> None:
    try:
        nn.device(front, back)          # forwards both ways until a socket closes
    except nn.NanomsgError as e:
        outcome.append(e.errno)


broker = threading.Thread(target=run_device)
broker.start()

with nn.Socket(nn.AF_SP, nn.REP, connect="inproc://workers", recv_timeout=5000) as worker, \
        nn.Socket(nn.AF_SP, nn.REQ, connect=front_url, recv_timeout=5000) as client:
    def serve() -> None:
        request = worker.recv()
        worker.send(b"worked on " + request)

    server = threading.Thread(target=serve)
    server.start()
    client.send(b"job 1")
    print("client got", client.recv(), "through the device")
    server.join()

front.close()                           # ends the device with EBADF
back.close()
broker.join()
print("device returned with", "EBADF" if outcome == [nn.EBADF] else outcome)
