"""patron: customer profiles and loyalty enrolments behind Capillary's v2 Customer API."""

__version__ = "0.1.0"
