from decimal import Decimal

import pytest
from shop.models import Product, Tag, db


@pytest.fixture
def products(app):
    """Three products, committed to this test's database."""
    found = [
        Product(sku="A-1", name="Anvil", price=Decimal("12.50"), stock=5, active=True),
        Product(sku="B-2", name="Bucket", price=Decimal("3.20"), stock=1, active=True),
        Product(sku="C-3", name="Crate", price=Decimal("7.00"), stock=9, active=False),
    ]
    found[0].tags.append(Tag(name="heavy", color="#333333"))
    db.session.add_all(found)
    db.session.commit()
    return found
