"""Wire models of the points and tier routes (SPEC 10.3), for the OpenAPI document."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from patron.customers.schemas import ProblemOut


class LoyaltyEntryOut(BaseModel):
    """A customer's points and tier in one program."""

    model_config = ConfigDict(populate_by_name=True)

    program_id: int = Field(alias="programId")
    loyalty_points: float = Field(alias="loyaltyPoints", description="Credits not expired now.")
    lifetime_points: float = Field(alias="lifetimePoints", description="Every credit.")
    expired: float = Field(description="Credits past their expiry.")
    redeemed: float = Field(description="Always 0: patron records no redemptions.")
    returned: float = Field(description="Always 0.")
    adjusted: float = Field(description="Always 0.")
    cumulative_purchases: float = Field(alias="cumulativePurchases", description="Always 0.")
    current_slab: str = Field(alias="currentSlab", description="The current tier's name.")
    slab_s_no: int = Field(alias="slabSNo", description="The current tier's number.")
    slab_expiry_date: str | None = Field(
        alias="slabExpiryDate", description="The enrolment's tierExpiryDate; null: never expires."
    )
    next_slab: str = Field(alias="nextSlab", description='The next tier\'s name; "" at the top.')
    next_slab_serial_number: int = Field(
        alias="nextSlabSerialNumber", description="The next tier's number; -1 at the top."
    )
    next_slab_description: str = Field(alias="nextSlabDescription")


class LoyaltyDetailsOut(BaseModel):
    """One entry per program the customer is enrolled in."""

    data: list[LoyaltyEntryOut]
    warnings: list[ProblemOut]
    errors: list[ProblemOut]


class ExpiryScheduleOut(BaseModel):
    """Unexpired points of one program that expire on one day (UTC)."""

    model_config = ConfigDict(populate_by_name=True)

    points: float
    expiry_date: str = Field(alias="expiryDate", description="YYYY-MM-DD, in UTC.")
    program_id: int = Field(alias="programId")
    points_type: str = Field(alias="pointsType", description="Always REGULAR.")
    expiry_type: str = Field(alias="expiryType", description="Always fixed.")


class PointsExpiryScheduleOut(BaseModel):
    """The customer's credited points that have not expired yet, soonest first."""

    id: int
    expiry_schedules: list[ExpiryScheduleOut] = Field(alias="expirySchedules")
    warnings: list[ProblemOut]
