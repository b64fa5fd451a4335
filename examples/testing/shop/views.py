"""A JSON API over the models."""

from decimal import Decimal
from typing import Any

from flask import Blueprint, abort, request

from .models import AuditEvent, Customer, Order, OrderLine, Product, db

blueprint = Blueprint("shop", __name__)


@blueprint.get("/products")
def products() -> list[dict[str, Any]]:
    found = db.session.scalars(db.select(Product).where(Product.active).order_by(Product.sku))
    return [{"sku": p.sku, "name": p.name, "price": str(p.price), "stock": p.stock} for p in found]


@blueprint.post("/customers")
def add_customer() -> tuple[dict[str, Any], int]:
    data = request.get_json()
    if db.session.scalar(db.select(Customer).filter_by(email=data["email"])):
        abort(409)
    customer = Customer(email=data["email"], name=data.get("name"), display_name=data.get("name"))
    db.session.add(customer)
    db.session.add(AuditEvent(action="customer.created", actor=data["email"]))
    db.session.commit()
    return {"id": customer.id}, 201


@blueprint.post("/orders")
def add_order() -> tuple[dict[str, Any], int]:
    data = request.get_json()
    customer = db.get_or_404(Customer, data["customer_id"])
    lines = []
    for sku, quantity in data["lines"].items():
        product = db.session.scalar(db.select(Product).filter_by(sku=sku)) or abort(404)
        if (product.stock or 0) < quantity:
            abort(409)
        lines.append(OrderLine(product=product, quantity=quantity, unit_price=product.price))
    order = Order(customer=customer, status="open", lines=lines)
    order.total = sum((line.unit_price * line.quantity for line in lines), Decimal(0))
    for line in lines:
        line.product.stock -= line.quantity
    db.session.add(order)
    db.session.commit()
    return {"id": order.id, "total": str(order.total)}, 201


@blueprint.get("/customers/<int:customer_id>/orders")
def customer_orders(customer_id: int) -> list[dict[str, Any]]:
    customer = db.get_or_404(Customer, customer_id)
    return [{"id": o.id, "status": o.status, "total": str(o.total)} for o in customer.orders]
