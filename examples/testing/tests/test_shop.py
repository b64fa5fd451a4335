"""The shop's tests: each runs on its own database, built by the 50 revisions in
shop/migrations (once per session; per test a copy of it), not by create_all()."""

from decimal import Decimal

import pytest
import sqlalchemy as sa
from shop.models import AuditEvent, Customer, Order, Product, db

from flask_schemaops import api


def _customer(client, email="ada@example.com", name="Ada"):
    response = client.post("/customers", json={"email": email, "name": name})
    assert response.status_code == 201, response.text
    return response.json["id"]


def test_database_is_at_head(app):
    statuses = {s.target: s for s in api.status()}
    assert set(statuses) == {"default", "audit"}
    assert all(s.up_to_date and s.current == s.heads for s in statuses.values())


def test_schema_comes_from_the_migrations(app):
    tables = set(sa.inspect(db.engine).get_table_names())
    assert {"alembic_version", "customers", "orders", "product_tags"} <= tables
    columns = {c["name"] for c in sa.inspect(db.engine).get_columns("customers")}
    assert {"display_name", "newsletter", "note"} <= columns


def test_each_database_of_the_app_is_a_test_database(app, schemaops_database):
    assert db.engine.url.database == schemaops_database.url_of("default").database
    assert db.engines["audit"].url.database == schemaops_database.url_of("audit").database


def test_no_products_at_first(client):
    assert client.get("/products").json == []


def test_active_products_listed_by_sku(client, products):
    listed = client.get("/products").json
    assert [p["sku"] for p in listed] == ["A-1", "B-2"]
    assert listed[0] == {"sku": "A-1", "name": "Anvil", "price": "12.50", "stock": 5}


def test_create_customer(client):
    customer_id = _customer(client)
    customer = db.session.get(Customer, customer_id)
    assert (customer.email, customer.display_name) == ("ada@example.com", "Ada")


def test_same_email_again_in_another_test(client):
    # The previous test's customer is not here: each test has its own database.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Customer)) == 0
    _customer(client)


def test_duplicate_customer_rejected(client):
    _customer(client)
    response = client.post("/customers", json={"email": "ada@example.com"})
    assert response.status_code == 409


def test_customer_creation_is_audited_in_the_audit_database(client):
    _customer(client, "grace@example.com")
    [event] = db.session.scalars(sa.select(AuditEvent)).all()
    assert (event.action, event.actor) == ("customer.created", "grace@example.com")


def test_order_total(client, products):
    customer_id = _customer(client)
    response = client.post("/orders", json={"customer_id": customer_id, "lines": {"A-1": 2}})
    assert response.status_code == 201
    assert response.json["total"] == "25.00"


def test_order_takes_stock(client, products):
    customer_id = _customer(client)
    client.post("/orders", json={"customer_id": customer_id, "lines": {"A-1": 3, "B-2": 1}})
    stock = dict(db.session.execute(sa.select(Product.sku, Product.stock)).all())
    assert stock == {"A-1": 2, "B-2": 0, "C-3": 9}


def test_order_beyond_stock_refused(client, products):
    customer_id = _customer(client)
    response = client.post("/orders", json={"customer_id": customer_id, "lines": {"B-2": 2}})
    assert response.status_code == 409
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0


def test_unknown_product_is_404(client, products):
    customer_id = _customer(client)
    response = client.post("/orders", json={"customer_id": customer_id, "lines": {"Z-9": 1}})
    assert response.status_code == 404


def test_customer_orders_listed(client, products):
    customer_id = _customer(client)
    for _ in range(2):
        client.post("/orders", json={"customer_id": customer_id, "lines": {"C-3": 1}})
    listed = client.get(f"/customers/{customer_id}/orders").json
    assert [o["total"] for o in listed] == ["7.00", "7.00"]


def test_product_tags(app, products):
    anvil = db.session.scalar(sa.select(Product).filter_by(sku="A-1"))
    assert [t.name for t in anvil.tags] == ["heavy"]


def test_sku_is_unique(app, products):
    db.session.add(Product(sku="A-1", name="Another anvil"))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()


# Rollback mode: the test runs in a transaction on a shared database, rolled back
# afterwards. Faster; for tests that neither change the schema nor need commits to
# be visible to other connections.
rollback = pytest.mark.schemaops(isolation="rollback")


@rollback
def test_rollback_mode_commit_stays_visible_to_the_test(app):
    db.session.add(Customer(email="linus@example.com"))
    db.session.commit()
    assert db.session.scalar(sa.select(Customer.email)) == "linus@example.com"


@rollback
def test_rollback_mode_previous_test_left_nothing(app):
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Customer)) == 0


@rollback
def test_rollback_mode_session_rollback_keeps_earlier_commits(app):
    db.session.add(Customer(email="first@example.com"))
    db.session.commit()
    db.session.add(Customer(email="second@example.com"))
    db.session.rollback()
    assert db.session.scalars(sa.select(Customer.email)).all() == ["first@example.com"]


@rollback
def test_rollback_mode_works_through_the_client(client, products):
    customer_id = _customer(client)
    response = client.post("/orders", json={"customer_id": customer_id, "lines": {"A-1": 1}})
    assert response.json["total"] == "12.50"
    assert db.session.get(Product, products[0].id).stock == 4
    assert Decimal(db.session.scalar(sa.select(Order.total))) == Decimal("12.50")
