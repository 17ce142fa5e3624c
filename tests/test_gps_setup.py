"""`survey-node gps-setup`: the boot step that turns on a u-blox's measured error (GST).

The receivers are played on a pty (tests/servers/fake_receiver.py) from u-blox's message
shapes; the last test then reads the configured receiver through a real gpsd, as the node
does after boot, and sees the error change from gpsd's estimate to the receiver's own.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time

import pytest

from survey_node.devices import ubx
from tests.conftest import require_system
from tests.gpsfake import free_port, wait_until
from tests.servers.fake_receiver import USB_PORT, FakeReceiver


def test_an_m8_gets_gst_on_its_ports_and_saved(cli):
    with FakeReceiver("m8") as receiver:
        result = cli("gps-setup", "--device", receiver.device)
        assert result.exit_code == 0, result.output
        assert "u-blox ROM CORE 3.01 (107888) (protocol 18)" in result.output
        assert "GST on, saved" in result.output
        assert receiver.gst_rates[USB_PORT] == 1 and receiver.gst_rates[1] == 1  # USB, UART1
        assert receiver.saved


def test_an_f9p_gets_gst_and_high_precision_in_flash(cli):
    with FakeReceiver("f9p") as receiver:
        result = cli("gps-setup", "--device", receiver.device)
        assert result.exit_code == 0, result.output
        assert "protocol 27.12" in result.output
        assert receiver.valset[ubx.KEY_GST_USB] == 1 and receiver.valset[ubx.KEY_GST_UART1] == 1
        assert receiver.valset[ubx.KEY_NMEA_HIGHPREC] == 1
        assert receiver.valset_layers & 0x04  # flash: it outlives a power cut
        assert ubx.CFG_MSG not in receiver.received  # the old message is not sent to an F9


def test_a_receiver_that_is_not_a_ublox_is_reported_and_left_alone(cli):
    with FakeReceiver("mtk") as receiver:
        started = time.monotonic()
        result = cli("gps-setup", "--device", receiver.device, "--timeout", "5")
        assert time.monotonic() - started < 8
    assert result.exit_code == 0, result.output
    assert "not a u-blox" in result.output and "HDOP and satellites" in result.output


def test_a_ublox_that_refuses_says_so(cli):
    with FakeReceiver("nak") as receiver:
        result = cli("gps-setup", "--device", receiver.device)
    assert result.exit_code == 1
    assert "the receiver refused the GST setting" in result.output


def test_a_silent_port_and_a_missing_one_end_within_the_deadline(cli, tmp_path):
    with FakeReceiver("silent") as receiver:
        started = time.monotonic()
        result = cli("gps-setup", "--device", receiver.device,
                     "--device", str(tmp_path / "ttyACM9"), "--timeout", "2")
        assert time.monotonic() - started < 6
    assert result.exit_code == 1
    assert f"{receiver.device}: the receiver sent nothing" in result.output
    assert "ttyACM9: no such device" in result.output


@contextlib.contextmanager
def gpsd_on(device: str):
    """A real gpsd reading the pty read-only (-b), as on the node."""
    port = free_port()
    proc = subprocess.Popen(["gpsd", "-N", "-n", "-b", "-S", str(port), device],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield port
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_after_setup_the_node_uses_the_receivers_measured_error(cli, data_dir):
    require_system("gpsd")
    with FakeReceiver("m8", eph_m=1.4) as receiver:
        env = {}
        with gpsd_on(receiver.device) as port:
            env["SURVEY_NODE_GPS__PORT"] = str(port)

            def source():
                out = cli("gps", "--data-dir", data_dir, "--json", "--wait", "10", env=env)
                return out.exit_code == 0 and json.loads(out.output)
            before = wait_until(source, timeout=30, step=0.5)
        assert before["eph_source"] == "estimated"
        # As at boot: the setup runs while gpsd is not holding the port.
        assert cli("gps-setup", "--device", receiver.device).exit_code == 0
        with gpsd_on(receiver.device) as port:
            env["SURVEY_NODE_GPS__PORT"] = str(port)
            after = wait_until(lambda: (fix := source()) and fix["eph_source"] == "gst" and fix,
                               timeout=30, step=0.5)
    assert after["eph"] == pytest.approx(1.4, abs=0.2)
