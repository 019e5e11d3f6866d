"""SURVEYOR/RESPONDENT: ask everyone, gather answers until the deadline."""

import threading

import nanomsg_core as nn

with nn.Socket(nn.AF_SP, nn.SURVEYOR) as surveyor:
    surveyor.setsockopt(nn.SURVEYOR, nn.SURVEYOR_DEADLINE, 300)     # ms
    surveyor.bind("inproc://census")
    respondents = [nn.Socket(nn.AF_SP, "respondent", connect="inproc://census",
                             recv_timeout=5000) for _ in range(3)]
    try:
        def answer(n: int, sock: nn.Socket) -> None:
            question = sock.recv()
            if n < 2:                        # the third one stays silent
                sock.send(b"respondent %d: yes to %s" % (n, question))

        threads = [threading.Thread(target=answer, args=(n, s))
                   for n, s in enumerate(respondents)]
        for t in threads:
            t.start()
        surveyor.send(b"ready?")
        answers = []
        try:
            while True:
                answers.append(surveyor.recv())
        except TimeoutError as e:            # ETIMEDOUT: the deadline passed
            assert e.errno == nn.ETIMEDOUT
            print("deadline passed after", len(answers), "answers:", sorted(answers))
        try:
            surveyor.recv()
        except nn.NanomsgError as e:         # EFSM until the next survey
            assert e.errno == nn.EFSM
            print("then:", e)
        for t in threads:
            t.join()
    finally:
        for s in respondents:
            s.close()
