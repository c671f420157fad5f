"""Samples every pod's limit, weight and CPU use every 100 ms, the same way under every policy,
and derives what the report needs from those samples alone: changes (writes that changed a
pod's quota or weight), direction changes, mean allocation, use, and use above the cap."""
import threading
import time

INTERVAL = 0.1
CAP_WINDOW = 10          # samples: the cap is checked on 1 s windows ...
CAP_TOLERANCE = 0.10     # ... with one CFS period's worth of slack (100 ms of quota in 1 s)


class Sampler:
    def __init__(self, parent, pods, budget):
        self.parent, self.pods, self.budget = parent, pods, budget
        self.t, self.parent_usage = [], []
        self.series = {name: {"quota": [], "weight": [], "usage": []} for name in pods}
        self.stop_event = threading.Event()
        self.error = None
        self.thread = threading.Thread(target=self._run, name="sampler", daemon=True)

    def start(self, origin):
        self.origin = origin
        self.thread.start()

    def stop(self):
        self.stop_event.set()
        self.thread.join(5)

    def _sample(self):
        self.t.append(time.monotonic() - self.origin)
        self.parent_usage.append(self.parent.usage_ns())
        for name, cgroup in self.pods.items():
            series = self.series[name]
            series["quota"].append(cgroup.quota_millicores())
            series["weight"].append(cgroup.weight())
            series["usage"].append(cgroup.usage_ns())

    def _run(self):
        next_at = time.monotonic()
        try:
            while not self.stop_event.is_set():
                self._sample()
                next_at += INTERVAL
                self.stop_event.wait(max(0.0, next_at - time.monotonic()))
            self._sample()
        except OSError as error:
            self.error = f"sampler: {error}"

    # --- derived ------------------------------------------------------------------------------------
    def _span(self, start, end):
        """Indices of the samples in [start, end] (seconds from the origin)."""
        return [i for i, t in enumerate(self.t) if start <= t <= end]

    def usage_millicores(self, name, start, end):
        """Mean CPU used between the samples nearest start and end."""
        idx = self._span(start, end)
        if len(idx) < 2:
            return None
        usage = self.series[name]["usage"]
        return (usage[idx[-1]] - usage[idx[0]]) / 1e6 / (self.t[idx[-1]] - self.t[idx[0]])

    def usage_windows(self, name):
        """(t, millicores) per sampling interval."""
        usage, out = self.series[name]["usage"], []
        for i in range(1, len(self.t)):
            dt = self.t[i] - self.t[i - 1]
            if dt > 0:
                out.append((self.t[i], (usage[i] - usage[i - 1]) / 1e6 / dt))
        return out

    def effective_quota(self, name, i):
        quota = self.series[name]["quota"][i]
        return self.budget if quota is None else min(quota, self.budget)

    def mean_allocated(self, name, start, end):
        """Mean limit over [start, end]; no limit counts as the budget (what the pod could get)."""
        idx = self._span(start, end)
        return sum(self.effective_quota(name, i) for i in idx) / len(idx) if idx else None

    def mean_weight_share(self, name, start, end):
        idx = self._span(start, end)
        if not idx:
            return None
        shares = [self.series[name]["weight"][i] / sum(s["weight"][i] for s in self.series.values()) for i in idx]
        return sum(shares) / len(shares)

    def changes(self, name):
        """Samples at which the pod's quota or weight differed from the previous sample (writes that
        changed something; several within one 100 ms count once)."""
        s = self.series[name]
        return sum(1 for i in range(1, len(self.t))
                   if s["quota"][i] != s["quota"][i - 1] or s["weight"][i] != s["weight"][i - 1])

    def direction_changes(self, name):
        """Reversals of the quota's and of the weight's direction (up then down, or down then up)."""
        total = 0
        for key in ("quota", "weight"):
            values = [self.budget if v is None else v for v in self.series[name][key]]
            last_sign = 0
            for a, b in zip(values, values[1:]):
                if b == a:
                    continue
                sign = 1 if b > a else -1
                if last_sign and sign != last_sign:
                    total += 1
                last_sign = sign
        return total

    def cap_excess(self, name, cap):
        """(number of 1 s windows whose use exceeded cap × 1.1, highest use / cap over any window)."""
        usage, t = self.series[name]["usage"], self.t
        over, worst = 0, 0.0
        for i in range(CAP_WINDOW, len(t)):
            dt = t[i] - t[i - CAP_WINDOW]
            if dt <= 0:
                continue
            used = (usage[i] - usage[i - CAP_WINDOW]) / 1e6 / dt
            worst = max(worst, used / cap)
            if used > cap * (1 + CAP_TOLERANCE):
                over += 1
        return over, worst

    @property
    def duration(self):
        return self.t[-1] - self.t[0] if len(self.t) > 1 else 0.0
