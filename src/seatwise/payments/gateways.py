"""The card gateway this installation is configured with (SEATWISE_GATEWAY)."""

from __future__ import annotations

from seatwise import config
from seatwise.payments.gateway import Gateway
from seatwise.payments.simulator import SimulatedGateway, simulator_store


def gateway_for(database_url: str) -> Gateway:
    """The gateway SEATWISE_GATEWAY names: the simulator (the default) or Stripe."""
    if config.gateway_kind() == "stripe":
        # Here: the Stripe SDK costs every command ~280 ms to import; only Stripe installations need it.
        from seatwise.payments.stripe_gateway import StripeGateway

        return StripeGateway(config.stripe_api_key(), api_base=config.stripe_api_base())
    return SimulatedGateway(simulator_store(database_url))
