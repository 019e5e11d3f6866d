"""PUB/SUB: subscribers keep the messages that start with one of their topics."""

import nanomsg_core as nn

with nn.Socket(nn.AF_SP, nn.PUB) as pub, \
        nn.Socket(nn.AF_SP, nn.SUB, recv_timeout=2000) as weather, \
        nn.Socket(nn.AF_SP, "sub", recv_timeout=2000) as everything:
    weather.setsockopt(nn.SUB, nn.SUB_SUBSCRIBE, b"weather.")
    everything.setsockopt(nn.SUB, nn.SUB_SUBSCRIBE, b"")     # the empty topic matches all
    pub.bind("inproc://news")
    weather.connect("inproc://news")
    everything.connect("inproc://news")

    pub.send(b"sport.football 2-1")
    pub.send(b"weather.rain tomorrow")
    print("weather got", weather.recv())
    print("everything got", everything.recv(), "and", everything.recv())

    weather.setsockopt(nn.SUB, nn.SUB_UNSUBSCRIBE, b"weather.")
    pub.send(b"weather.sun")
    print("everything got", everything.recv())
    try:
        weather.recv(nn.DONTWAIT)
    except BlockingIOError:
        print("weather, unsubscribed, got nothing")
