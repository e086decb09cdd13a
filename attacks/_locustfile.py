"""The users of `make load` (attacks/load.py): coordinators asking for a participant's suggestions and taking the
best seat for people who hold none. A 409 (the seat was taken meanwhile, or the person holds one) is a right
answer; an error is anything else: a 5xx, another 4xx, a reset or a timeout."""

from __future__ import annotations

import os
import random

from locust import HttpUser, between, task

API = "/api/v1"
TOKEN = os.environ.get("PLACEMENT_LOAD_TOKEN", "")
OK = {200, 201, 409}


class Coordinator(HttpUser):
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Bearer {TOKEN}"
        self.people: list[str] = []
        offset = 0
        while True:
            page = self.client.get(f"{API}/participants?limit=500&offset={offset}", name="/participants").json()
            self.people += [p["id"] for p in page["items"]]
            offset += len(page["items"])
            if not page["items"] or offset >= page["total"]:
                break

    def _suggestions(self, pid: str) -> list[dict[str, object]]:
        with self.client.get(
            f"{API}/participants/{pid}/suggestions", name="/participants/{id}/suggestions", catch_response=True
        ) as answer:
            if answer.status_code != 200:
                answer.failure(f"{answer.status_code}: {answer.text[:200]}")
                return []
            answer.success()
            return list(answer.json().get("suggestions", []))

    @task(4)
    def ask(self) -> None:
        self._suggestions(random.choice(self.people))

    @task(1)
    def take(self) -> None:
        pid = random.choice(self.people)
        suggestions = self._suggestions(pid)
        if not suggestions:
            return
        body = {"participant_id": pid, "slot_id": suggestions[0]["slot_id"], "start_date": "2026-11-23"}
        with self.client.post(f"{API}/placements", json=body, name="/placements", catch_response=True) as answer:
            if answer.status_code in OK:
                answer.success()
            else:
                answer.failure(f"{answer.status_code}: {answer.text[:200]}")
