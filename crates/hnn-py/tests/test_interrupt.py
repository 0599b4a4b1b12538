"""Ctrl-C stops a fit promptly with KeyboardInterrupt and leaves the model usable; the GIL is
released while Rust trains, so other Python threads run meanwhile."""

import os
import signal
import threading
import time

import numpy as np
import pytest

import hnn


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs POSIX signals")
def test_ctrl_c_stops_a_fit_and_keeps_the_model(spring):
    model = hnn.HNN(hidden=(64, 64), steps=10_000_000)
    ticks = []
    stop = threading.Event()

    def tick():  # runs only if the fit releases the GIL
        while not stop.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.01)

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    started = time.monotonic()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        model.fit(spring.train_z, spring.train_dz)
    elapsed = time.monotonic() - started
    stop.set()
    ticker.join()
    assert elapsed < 3.0, f"the fit took {elapsed:.1f} s to stop after Ctrl-C at 0.5 s"
    assert len([t for t in ticks if t > started + 0.1]) > 10, "other threads did not run during the fit"
    steps = model.steps_trained_
    assert 0 < steps < 10_000_000
    dz = model.predict(spring.test_z)
    assert dz.shape == spring.test_z.shape and np.isfinite(dz).all()
