"""Ports handed out for local servers."""

from shared.embedded.ports import LOCAL_PORTS, free_port


def test_a_port_is_never_handed_out_twice_even_before_anything_binds_it() -> None:
    # 500 draws from 12,000 ports would repeat one almost surely if only "free now" were checked.
    ports = [free_port() for _ in range(500)]
    assert len(set(ports)) == len(ports)
    assert all(port in LOCAL_PORTS for port in ports)
