"""A small demonstration registry, so the console can be tried on an empty database."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Person, Role
from storage.queries.registry import add_person, get_or_create_area, upsert_township

DEMO_TOWNSHIPS = (("太平乡", 12), ("城关镇", 18), ("新华乡", 9), ("石桥镇", 15))


async def seed_demo(session: AsyncSession) -> Person:
    """A city, a county with four townships, and an inspector assigned to all of them."""
    city = await get_or_create_area(session, "示例市", kind="city")
    county = await get_or_create_area(session, "示例县", kind="county", parent_id=city.id)
    townships = [await upsert_township(session, county, name, villages) for name, villages in DEMO_TOWNSHIPS]
    await add_person(session, "示例督查室", Role.supervisor, area=city)
    return await add_person(session, "示例督查员", Role.inspector, area=county, townships=townships)
