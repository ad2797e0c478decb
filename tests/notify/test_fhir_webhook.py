"""The ``fhir_resource`` webhook: a product's release posts its BiologicallyDerivedProduct and
its administration the Procedure, signed as every webhook is, to a receiver on 127.0.0.1 that
checks the signature (in-process delivery; SQLite: the outbox and its delivery are the same
on both backends, ``test_celery_delivery`` runs them on PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
from fhir.resources.R4B.biologicallyderivedproduct import BiologicallyDerivedProduct
from fhir.resources.R4B.procedure import Procedure
from sqlalchemy import select

from lims.extensions import db
from lims.models import Delivery, Notification
from lims.services.actions import units
from tests.backends import backend  # noqa: F401  (SQLite alone: see the docstring)
from tests.conftest import registration
from tests.service.lab import walk

from .conftest import WEBHOOK_SECRET, Receiver


@pytest.fixture
def app_config(webhook: Receiver) -> dict[str, Any]:
    return {"WEBHOOK_URL": webhook.url, "WEBHOOK_SECRET": WEBHOOK_SECRET}


def test_release_and_administration_post_their_fhir_resources_signed(users, webhook):
    source = units.register(registration("BLOOD", name="Cy Hooked"), users["clinician"]).unit
    product = walk(source, "administered", users)

    calls = [c for c in webhook.calls if c["body"]["event"] == "fhir_resource"]
    assert [c["body"]["trigger"] for c in calls] == ["released", "administered"]
    assert all(c["signed"] for c in calls)
    released, administered = (c["body"]["resource"] for c in calls)
    BiologicallyDerivedProduct.model_validate(released)
    Procedure.model_validate(administered)
    # the product as it stood when released: available then, whatever it is now
    assert released["id"] == str(product.id) and released["status"] == "available"
    assert administered["usedReference"] == [
        {"reference": f"BiologicallyDerivedProduct/{product.id}"}
    ]
    assert all(c["body"]["unit_id"] == product.id for c in calls)
    assert not [c for c in calls if "Cy Hooked" in str(c["body"])]  # no name leaves
    # the webhook alone: nobody's inbox gets it
    hooks = db.session.scalars(select(Delivery.channel).join(Delivery.event)).all()
    assert "fhir_resource" not in set(db.session.scalars(select(Notification.event)))
    assert hooks.count("webhook") == len(webhook.calls)
