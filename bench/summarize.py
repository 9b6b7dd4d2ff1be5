"""Turns the RESULT lines of bench/run.sh into the markdown tables of RESULTS.md.

Usage: python3 bench/summarize.py build/bench/results.txt
The latest line for each (scenario, server, kind, rate/conns) wins, so scenarios
run separately still make one table.
"""

import sys


def parse(path):
    rows = {}
    with open(path, encoding="utf-8") as file:
        lines = file.readlines()
    for line in lines:
        if not line.startswith("RESULT "):
            continue
        words = line.split()
        scenario, server = words[1], words[2]
        fields = {}
        kind = ""
        for word in words[3:]:
            if "=" in word:
                key, value = word.split("=", 1)
                fields[key] = value
            elif not fields:
                kind = word
        key = (scenario, server, kind, fields.get("rate") or fields.get("conns") or "")
        if scenario == "publish_cost":
            key = (scenario, server, "published" in fields)
            if "published" in fields and (scenario, server, False) in rows:
                rows[(scenario, server, False)].update(fields)
                continue
        rows[key] = fields | {"server": server, "kind": kind}
    return rows


def num(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def ratio(ours, theirs, higher_is_better=True):
    a, b = num(ours), num(theirs)
    if not a or not b:
        return "-"
    return f"{a / b:.2f}x" if higher_is_better else f"{b / a:.2f}x"


def table(header, rows):
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")
    print()


def main():
    rows = parse(sys.argv[1])
    best = {k[1]: v for k, v in rows.items() if k[0] == "fanout" and k[2] == "best"}
    if best:
        ours = best.get("ssecast", {}).get("delivered_per_s")
        print("### Fan-out: 1,000 subscribers, highest rate with zero loss and p99 <= 100 ms\n")
        table(
            [
                "server",
                "publish/s",
                "delivered events/s",
                "p50 ms",
                "p90 ms",
                "p99 ms",
                "max ms",
                "server CPU %",
                "load tool CPU %",
                "ssecast ÷ peer",
            ],
            [
                [
                    s,
                    v["rate"],
                    v["delivered_per_s"],
                    v["p50_ms"],
                    v["p90_ms"],
                    v["p99_ms"],
                    v["max_ms"],
                    v["server_cpu_pct"],
                    v.get("tool_cpu_pct", "-"),
                    ratio(ours, v["delivered_per_s"]),
                ]
                for s, v in best.items()
            ],
        )
    steps = [v for k, v in rows.items() if k[0] == "fanout" and k[2] == "step"]
    if steps:
        print("### Fan-out, stricter: highest passing step with p99 < 50 ms (the issue's target)\n")
        strict = {}
        for v in steps:
            best_so_far = strict.get(v["server"])
            if (
                v["pass"] == "true"
                and num(v["p99_ms"]) < 50
                and (
                    best_so_far is None
                    or num(v["delivered_per_s"]) > num(best_so_far["delivered_per_s"])
                )
            ):
                strict[v["server"]] = v
        ours = strict.get("ssecast", {}).get("delivered_per_s")
        table(
            ["server", "publish/s", "delivered events/s", "p99 ms", "ssecast ÷ peer"],
            [
                [s, v["rate"], v["delivered_per_s"], v["p99_ms"], ratio(ours, v["delivered_per_s"])]
                for s, v in strict.items()
            ],
        )
    cap = [v | {"conns": k[3]} for k, v in rows.items() if k[0] == "capacity"]
    if cap:
        ours = {v["conns"]: v for v in cap if v["server"] == "ssecast"}
        print("### Capacity: idle connections\n")
        table(
            [
                "server",
                "asked",
                "held",
                "time to accept all s",
                "connect p99 ms",
                "RSS MiB",
                "KiB per connection",
                "peer KiB ÷ ssecast KiB",
            ],
            [
                [
                    v["server"],
                    v["conns"],
                    v["held"],
                    v["accept_all_s"],
                    v["connect_p99_ms"],
                    v["rss_loaded_mib"],
                    v["kib_per_conn"],
                    ratio(ours.get(v["conns"], {}).get("kib_per_conn"), v["kib_per_conn"], False),
                ]
                for v in cap
            ],
        )
    lat = [v for k, v in rows.items() if k[0] == "latency"]
    if lat:
        print("### Latency floor: 10 subscribers\n")
        table(
            [
                "server",
                "publish/s",
                "delivered/s",
                "p50 ms",
                "p90 ms",
                "p99 ms",
                "max ms",
                "lost",
                "server CPU %",
                "load tool CPU %",
            ],
            [
                [
                    v["server"],
                    v["rate"],
                    v["delivered_per_s"],
                    v["p50_ms"],
                    v["p90_ms"],
                    v["p99_ms"],
                    v["max_ms"],
                    v["lost"],
                    v["server_cpu_pct"],
                    v.get("tool_cpu_pct", "-"),
                ]
                for v in lat
            ],
        )
    pub = [v for k, v in rows.items() if k[0] == "publish_cost" and not k[2]]
    if pub:
        print("### Publish cost per call, 1,000 subscribers attached\n")
        table(
            [
                "language",
                "isolated call median ns",
                "isolated p90 ns",
                "back-to-back mean ns",
                "events published",
                "subscribers missing events",
            ],
            [
                [
                    v["server"],
                    v.get("isolated_median_ns"),
                    v.get("isolated_p90_ns"),
                    v.get("burst_mean_ns"),
                    v.get("published"),
                    v.get("subscribers_missing_events"),
                ]
                for v in pub
            ],
        )
    metrics_table(rows)


def metrics_table(rows):
    """The metrics scenario: for each rate and round, the engine's CPU time per
    delivered event with metrics (scraped every second) divided by that of the
    baseline build run just before or after it; the median of those ratios,
    with the other figures as medians over the passing steps (zero loss)."""
    steps = {}
    for key, v in rows.items():
        if not key[0].startswith("metrics-") or key[2] != "step":
            continue
        if not v["server"].endswith("-inproc") or v.get("pass") != "true":
            continue  # an older, out-of-process form of the scenario, or a lossy step
        variant = v["server"].removeprefix("ssecast-").removesuffix("-inproc")
        steps[(num(v["rate"]), key[0], variant)] = v
    if not steps:
        return

    def median(numbers):
        numbers = sorted(n for n in numbers if n is not None)
        if not numbers:
            return None
        mid = len(numbers) // 2
        return numbers[mid] if len(numbers) % 2 else (numbers[mid - 1] + numbers[mid]) / 2

    def show(value, digits=1):
        return "-" if value is None else f"{value:,.{digits}f}"

    print("### Metrics overhead: 1,000 subscribers, /metrics scraped every second vs no metrics\n")
    out = []
    for rate in sorted({rate for rate, _, _ in steps}):
        pairs = [
            (steps[(rate, round_, "baseline")], steps[(rate, round_, "metrics")])
            for r, round_, variant in steps
            if r == rate and variant == "baseline" and (rate, round_, "metrics") in steps
        ]
        if not pairs:
            continue
        ratios = sorted(
            num(ours["engine_ns_per_event"]) / num(base["engine_ns_per_event"])
            for base, ours in pairs
            if num(base["engine_ns_per_event"]) and num(ours["engine_ns_per_event"])
        )
        if not ratios:
            continue
        quarter = len(ratios) // 4
        out.append(
            [
                f"{rate:.0f}",
                len(ratios),
                show(median(num(b["delivered_per_s"]) for b, _ in pairs), 0),
                show(median(num(o["delivered_per_s"]) for _, o in pairs), 0),
                show(median(num(b["engine_ns_per_event"]) for b, _ in pairs)),
                show(median(num(o["engine_ns_per_event"]) for _, o in pairs)),
                f"{median(ratios) - 1:+.1%}",
                f"{ratios[quarter] - 1:+.1%} to {ratios[-1 - quarter] - 1:+.1%}",
            ]
        )
    table(
        [
            "publish/s",
            "pairs",
            "delivered/s before",
            "delivered/s with metrics",
            "engine ns/event before",
            "engine ns/event with metrics",
            "change (median of pairs)",
            "middle half of the pairs",
        ],
        out,
    )


if __name__ == "__main__":
    main()
