"""The models, as the last of the 50 revisions in migrations/ leaves the schema."""

from flask_sqlalchemy import SQLAlchemy

from flask_schemaops import SchemaOps

db = SQLAlchemy()
schemaops = SchemaOps()

product_tags = db.Table(
    "product_tags",
    db.Column("product_id", db.Integer, db.ForeignKey("products.id"), primary_key=True),
    db.Column("tag_id", db.Integer, db.ForeignKey("tags.id"), primary_key=True),
)


class Customer(db.Model):
    __tablename__ = "customers"

    id = db.Column(db.Integer, primary_key=True)
    email = db.Column(db.String(200), nullable=False, unique=True, index=True)
    name = db.Column(db.String(200), index=True)
    phone = db.Column(db.String(40))
    birthday = db.Column(db.Date)
    newsletter = db.Column(db.Boolean)
    display_name = db.Column(db.String(200))
    note = db.Column(db.Text)
    orders = db.relationship("Order", back_populates="customer")


class Product(db.Model):
    __tablename__ = "products"

    id = db.Column(db.Integer, primary_key=True)
    sku = db.Column(db.String(40), nullable=False, unique=True, index=True)
    name = db.Column(db.String(200), nullable=False)
    description = db.Column(db.Text)
    price = db.Column(db.Numeric(10, 2))
    stock = db.Column(db.Integer)
    active = db.Column(db.Boolean, index=True)
    weight = db.Column(db.Numeric(8, 3))
    tags = db.relationship("Tag", secondary=product_tags)


class Order(db.Model):
    __tablename__ = "orders"

    id = db.Column(db.Integer, primary_key=True)
    customer_id = db.Column(db.Integer, db.ForeignKey("customers.id"), nullable=False, index=True)
    status = db.Column(db.String(20), index=True)
    created_at = db.Column(db.DateTime)
    note = db.Column(db.Text)
    total = db.Column(db.Numeric(10, 2))
    paid_at = db.Column(db.DateTime)
    customer = db.relationship("Customer", back_populates="orders")
    lines = db.relationship("OrderLine", back_populates="order")


class OrderLine(db.Model):
    __tablename__ = "order_lines"

    id = db.Column(db.Integer, primary_key=True)
    order_id = db.Column(db.Integer, db.ForeignKey("orders.id"), nullable=False)
    product_id = db.Column(db.Integer, db.ForeignKey("products.id"), nullable=False)
    quantity = db.Column(db.Integer, nullable=False)
    unit_price = db.Column(db.Numeric(10, 2))
    discount = db.Column(db.Numeric(5, 2))
    order = db.relationship("Order", back_populates="lines")
    product = db.relationship("Product")


class Tag(db.Model):
    __tablename__ = "tags"

    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(50), nullable=False)
    color = db.Column(db.String(7))


class Address(db.Model):
    __tablename__ = "addresses"

    id = db.Column(db.Integer, primary_key=True)
    customer_id = db.Column(db.Integer, db.ForeignKey("customers.id"), nullable=False)
    street = db.Column(db.String(200))
    city = db.Column(db.String(100))
    postcode = db.Column(db.String(20))
    country = db.Column(db.String(2))


class Payment(db.Model):
    __tablename__ = "payments"

    id = db.Column(db.Integer, primary_key=True)
    order_id = db.Column(db.Integer, db.ForeignKey("orders.id"), nullable=False)
    amount = db.Column(db.Numeric(10, 2), nullable=False)
    method = db.Column(db.String(20), index=True)
    received_at = db.Column(db.DateTime)


class Shipment(db.Model):
    __tablename__ = "shipments"

    id = db.Column(db.Integer, primary_key=True)
    order_id = db.Column(db.Integer, db.ForeignKey("orders.id"), nullable=False)
    carrier = db.Column(db.String(50))
    tracking = db.Column(db.String(100))
    shipped_at = db.Column(db.DateTime)


class Review(db.Model):
    __tablename__ = "reviews"

    id = db.Column(db.Integer, primary_key=True)
    product_id = db.Column(db.Integer, db.ForeignKey("products.id"), nullable=False)
    rating = db.Column(db.Integer, nullable=False)
    body = db.Column(db.Text)
    created_at = db.Column(db.DateTime)
    title = db.Column(db.String(200))


class AuditEvent(db.Model):
    __tablename__ = "audit_events"
    __bind_key__ = "audit"

    id = db.Column(db.Integer, primary_key=True)
    action = db.Column(db.String(50), nullable=False, index=True)
    actor = db.Column(db.String(100))
    created_at = db.Column(db.DateTime)
    detail = db.Column(db.Text)
