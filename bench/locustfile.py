"""The load benchmark's scan stations, for locust (run by ``python -m bench.load``).

Each simulated station is a technician at a bench with a clinician beside it: the clinician
registers a fat collection, the technician scans it, receives it, starts processing, records
every step of the protocol, completes processing into an SVF product, records its QC, prints
its label, and scans it again; the clinician polls the readiness board meanwhile, as the
board's page does. Every request goes through the JSON API as a client would send it.

What was accepted is counted as it happens: the ledger entries each accepted answer stands
for (an action's answer lists its entries; a registration and a label print write one), so
``bench.load`` can compare them with the ledger afterwards. Answers the database's outage
caused (503 with Retry-After) are counted apart, and the station waits as told and goes on.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import count

import gevent
from locust import HttpUser, between, events, task
from locust.exception import StopUser

from lims.domain.processing import batch_record
from lims.domain.qc import DEFAULT_SPECS

PASSWORD = os.environ.get("LOAD_PASSWORD", "load-bench-pass-2026")
STATIONS = int(os.environ.get("LOAD_STATIONS", "32"))
RESULT_FILE = os.environ.get("LOAD_RESULT_FILE", "")
PASSING = {
    "viable_cell_count": 2_500_000,
    "viability": 85.0,
    "gram_stain": "no organisms seen",
    "sterility": "no growth",
    "endotoxin": 0.1,
}
SVF_TESTS = [t for (p, t), s in DEFAULT_SPECS.items() if p == "SVF" and s.required]
# The register the stations work on, made by ``bench.load.prepare``: kind → equipment code,
# reagent → lot code.
EQUIPMENT: dict[str, str] = json.loads(os.environ.get("LOAD_EQUIPMENT") or "{}")
LOTS: dict[str, str] = json.loads(os.environ.get("LOAD_LOTS") or "{}")

accepted: Counter = Counter()  # kind → accepted answers
entries: Counter = Counter()  # kind → ledger entries those answers stand for
unavailable: Counter = Counter()  # kind → 503 answers (the database away)
refused: Counter = Counter()  # kind → any other non-2xx answer (a bug under load)
seqs: list[int] = []  # every entry an accepted action listed
_station_numbers = count(1)


class Refused(Exception):
    """An answer the station cannot go on from; the workflow starts over."""


class Station(HttpUser):
    wait_time = between(0.05, 0.3)

    def on_start(self) -> None:
        number = (next(_station_numbers) - 1) % STATIONS + 1
        self.number = number
        self.sequence = count(1)
        self.tech = self._token(f"load-tech-{number:02d}")
        self.doctor = self._token(f"load-doctor-{(number - 1) % 4 + 1}")

    def _token(self, username: str) -> dict[str, str]:
        for _attempt in range(60):
            with self.client.post(
                "/api/v1/tokens",
                json={"username": username, "password": PASSWORD},
                name="sign in",
                catch_response=True,
            ) as answer:
                if answer.status_code == 201:
                    answer.success()
                    return {"Authorization": f"Bearer {answer.json()['token']}"}
                self._judge("sign in", answer)
            gevent.sleep(1)
        raise StopUser(f"{username} could not sign in")

    def _judge(self, kind: str, answer) -> None:
        """Count a non-2xx answer; after a 503, wait as Retry-After says."""
        if answer.status_code == 503:
            unavailable[kind] += 1
            answer.failure(f"503 {answer.text[:80]}")
            gevent.sleep(min(float(answer.headers.get("Retry-After", "1")), 5))
        else:
            refused[kind] += 1
            answer.failure(f"{answer.status_code} {answer.text[:200]}")

    def _call(self, kind: str, method: str, url: str, auth: dict, **kwargs):
        with self.client.request(
            method, url, headers=auth, name=kind, catch_response=True, **kwargs
        ) as answer:
            if answer.status_code >= 300:
                self._judge(kind, answer)
                raise Refused(kind)
            answer.success()
            accepted[kind] += 1
            return answer

    def _act(self, kind: str, unit_id: int, body: dict) -> dict:
        answer = self._call(
            kind,
            "POST",
            f"/api/v1/units/{unit_id}/actions",
            self.tech,
            json={"action": kind, **body},
        )
        result = answer.json()
        listed = [e["seq"] for e in result.get("entries", [])]
        entries[kind] += len(listed)
        seqs.extend(listed)
        return result

    @task(1)
    def readiness_poll(self) -> None:
        with contextlib.suppress(Refused):
            self._call("readiness poll", "GET", "/api/v1/readiness", self.doctor)

    @task(4)
    def collection_to_label(self) -> None:
        with contextlib.suppress(Refused):
            self._collection_to_label()

    def _collection_to_label(self) -> None:
        now = datetime.now(UTC)
        mrn = f"LOAD-{self.number:02d}-{next(self.sequence):05d}-{random.randrange(10**6)}"
        registered = self._call(
            "register",
            "POST",
            "/api/v1/units",
            self.doctor,
            json={
                "patient": {"mrn": mrn, "name": f"Load Patient {mrn}", "birth_date": "1980-01-01"},
                "type": "ADIPOSE",
                "collection_site": "abdomen",
                "volume_ml": 200,
                "collected_at": (now - timedelta(hours=1)).isoformat(),
            },
        ).json()
        entries["register"] += 1
        unit_id, code = registered["id"], registered["barcode_data"]
        self._call("scan", "POST", "/api/v1/scan", self.tech, json={"code": code})
        self._act(
            "receive",
            unit_id,
            {
                "temperature_c": 4.0,
                "container_intact": True,
                "label_matches": True,
                "volume_ml": 198,
            },
        )
        cabinet = EQUIPMENT.get("biosafety_cabinet", "")
        self._act("start_processing", unit_id, {"protocol": "SVF isolation", "equipment": cabinet})
        start = datetime.now(UTC)
        steps = batch_record(
            "ADIPOSE", start - timedelta(minutes=30), start, equipment=EQUIPMENT, lots=LOTS
        )
        for step in steps:
            self._act("record_step", unit_id, step)
        done = self._act(
            "complete_processing",
            unit_id,
            {"products": [{"type": "SVF", "volume_ml": 12, "cell_count": 90_000_000}]},
        )
        product_id = done["products"][0]["id"]
        for test in SVF_TESTS:
            self._act(
                "record_qc",
                product_id,
                {"test": test, "value": PASSING[test], "method": "validated", "lot": "QC-1"},
            )
        label = self._call(
            "label print", "GET", f"/api/v1/units/{product_id}/label?format=zpl", self.tech
        )
        if label.headers.get("X-Label-Action"):
            entries["label print"] += 1
        self._call("scan", "POST", "/api/v1/scan", self.tech, json={"code": code})


@events.quitting.add_listener
def _write_counts(environment, **_kwargs) -> None:
    if not RESULT_FILE:
        return
    with open(RESULT_FILE, "w") as out:
        json.dump(
            {
                "accepted": accepted,
                "entries": entries,
                "unavailable": unavailable,
                "refused": refused,
                "seqs": seqs,
            },
            out,
        )
