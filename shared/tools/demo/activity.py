"""Everything around a client besides the money: emails (first-party, or as Resend webhooks), notifications,
reviews, the monthly newsletter and the team's own activity in the app.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from shared.tools.demo import recorder


class Activity(recorder.Recorder):
    """Emails, notifications, reviews and the team's days, on top of the recording primitives."""

    def email(
        self,
        client: recorder.Client,
        template: str,
        at: datetime,
        *,
        resend: bool,
        opened: float,
        clicked: float,
        campaign: str | None = None,
    ) -> None:
        """One email and what became of it; transactional ones arrive as Resend webhooks."""
        rng = self.rng
        message = self.next_id("m")
        steps: list[tuple[str, datetime, dict[str, Any]]] = [("email.sent", at, {})]
        if rng.random() < (0.02 if resend else 0.012):
            hard = rng.random() < 0.6
            steps.append(("email.bounced", at + timedelta(seconds=40), {"bounce_type": "hard" if hard else "soft"}))
        else:
            steps.append(("email.delivered", at + timedelta(seconds=20), {}))
            if rng.random() < opened:
                seen = at + timedelta(minutes=rng.expovariate(1 / 240))
                steps.append(("email.opened", seen, {}))
                if rng.random() < clicked:
                    steps.append(
                        (
                            "email.clicked",
                            seen + timedelta(seconds=rng.randint(5, 300)),
                            {"url": f"https://roseandthorn.example/{template.replace('_', '-')}"},
                        )
                    )
            elif rng.random() < 0.004:
                steps.append(("email.complained", at + timedelta(hours=rng.randint(1, 48)), {}))
        for type_, when, extra in steps:
            if resend:
                self.resend(type_, message, client, template, when, extra)
            else:
                data = {"message_id": message, "template": template, "recipient": client.email, **extra}
                if campaign:
                    data["campaign"] = campaign
                self.emit(type_, when, data, client.id)

    def resend(
        self, type_: str, message: str, client: recorder.Client, template: str, at: datetime, extra: dict[str, Any]
    ) -> None:
        svix_id = "msg_" + self.next_id().replace("-", "")
        data: dict[str, Any] = {
            "email_id": message,
            "created_at": at.isoformat(),
            "from": f"{self.b.name} <hello@roseandthorn.example>",
            "to": [client.email],
            "subject": template.replace("_", " ").capitalize(),
            "tags": {"template": template, "client_id": client.id},
        }
        if "url" in extra:
            data["click"] = {"link": extra["url"], "timestamp": at.isoformat(), "userAgent": "Mozilla/5.0"}
        if "bounce_type" in extra:
            data["bounce"] = {
                "type": "Permanent" if extra["bounce_type"] == "hard" else "Transient",
                "message": "The recipient's mailbox is unavailable.",
            }
        self.deliver("resend", svix_id, at, {"type": type_, "created_at": at.isoformat(), "data": data})

    def notify(
        self, template: str, channel: str, at: datetime, *, client_id: str | None = None, clicked: float = 0.0
    ) -> None:
        rng = self.rng
        base = {"notification_id": self.next_id("n"), "channel": channel, "template": template}
        self.emit("notification.sent", at, base, client_id)
        if rng.random() < (0.04 if channel == "sms" else 0.01):
            self.emit(
                "notification.failed",
                at + timedelta(seconds=5),
                {**base, "error_code": "unreachable" if channel == "sms" else "token_expired"},
                client_id,
            )
            return
        self.emit("notification.delivered", at + timedelta(seconds=3), base, client_id)
        if channel in ("push", "in_app", "email") and rng.random() < 0.8:
            seen = at + timedelta(minutes=rng.randint(1, 180))
            self.emit("notification.opened", seen, base, client_id)
            if rng.random() < clicked:
                self.emit("notification.clicked", seen + timedelta(seconds=10), base, client_id)

    def review(self, client: recorder.Client, booking_id: str, at: datetime) -> None:
        rng = self.rng
        rating = rng.choices([5, 4, 3, 2, 1], [74, 19, 5, 1.5, 0.5])[0]
        nps = min(10, max(0, {5: 9, 4: 8, 3: 6, 2: 4, 1: 2}[rating] + rng.choice([-1, 0, 0, 1, 1])))
        self.emit(
            "review.received",
            at,
            {
                "review_id": self.next_id("r"),
                "rating": rating,
                "nps": nps,
                "platform": rng.choice(["google", self.b.marketplace, "facebook"]),
                "booking_id": booking_id,
            },
            client.id,
        )

    def app_action(self, user: str, action: str, screen: str, at: datetime) -> None:
        self.emit("app.action", at, {"user_id": user, "action": action, "screen": screen})

    def newsletters(self) -> None:
        """A monthly newsletter (sent by WedSync itself, first-party) to every client known by then."""
        month = self.y.first_day.replace(day=1)
        while month < self.y.end_day:
            tuesday = month + timedelta(days=(1 - month.weekday()) % 7)
            at = self.local(tuesday, 10, 0)
            campaign = f"newsletter_{month:%Y_%m}"
            for client in self.clients:
                if client.inquiry_at < at:
                    self.email(
                        client,
                        "newsletter",
                        at + timedelta(seconds=self.rng.randint(0, 600)),
                        resend=False,
                        opened=0.38,
                        clicked=0.16,
                        campaign=campaign,
                    )
            month = (month + timedelta(days=32)).replace(day=1)

    def team_days(self) -> None:
        actions = (
            ("open_dashboard", "dashboard", 30),
            ("view_calendar", "calendar", 15),
            ("edit_gallery", "galleries", 20),
            ("update_timeline", "timelines", 8),
            ("send_invoice", "invoices", 5),
            ("edit_contract", "contracts", 4),
            ("export_report", "reports", 2),
            ("view_client", "clients", 16),
        )
        day = self.y.first_day
        while day < self.y.end_day:
            busy = 1.6 if day.month in (5, 6, 7, 8, 9) else 1.0  # editing galleries in wedding season
            for i, user in enumerate(self.b.team):
                lam = (7.0 if i == 0 else 4.0) * busy * (0.35 if day.weekday() == 6 else 1.0)
                for _ in range(self.poisson(lam)):
                    action, screen, _ = self.rng.choices(actions, [a[2] for a in actions])[0]
                    self.app_action(user, action, screen, self.local(day, self.rng.randint(8, 19)))
            day += timedelta(days=1)
