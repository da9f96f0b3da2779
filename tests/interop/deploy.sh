#!/usr/bin/env bash
# The deployment files, checked without a Docker daemon: docker-compose.yml by docker-compose
# itself (`config -q`), bongsu's prometheus.yml and alertmanager.yml by the real promtool and
# amtool and by bongsu, and the Grafana provisioning: data sources with the fields Grafana's
# Prometheus and Loki data sources need, and a dashboard folder whose files are dashboards.
#
# Needs: docker-compose (apt), python3 with yaml (docker-compose depends on it), promtool and
# amtool on PATH (benches/lib/peers.sh use_peers), BONGSU (a built binary).
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${BONGSU:?set BONGSU to a bongsu binary}"

docker-compose -f docker-compose.yml config -q
promtool check config deploy/prometheus.yml
amtool check-config deploy/alertmanager.yml
"$BONGSU" check config deploy/prometheus.yml
"$BONGSU" check alertmanager-config deploy/alertmanager.yml
# The rule files docker-compose.yml mounts (rules/logs-*.yml are LogQL, not for promtool).
promtool check rules rules/bongsu.yml rules/node.yml rules/service.yml

python3 - <<'PY'
import glob, json, sys, yaml

compose = yaml.safe_load(open("docker-compose.yml"))
grafana_mounts = compose["services"]["grafana"]["volumes"]
dashboards_dir = next(m.split(":")[0] for m in grafana_mounts if m.endswith(":/var/lib/grafana/dashboards:ro"))

sources = {d["type"]: d for d in yaml.safe_load(open("deploy/grafana/datasources/bongsu.yml"))["datasources"]}
prom = sources["prometheus"]
want = {"access": "proxy", "url": "http://bongsu:9090"}
for k, v in want.items():
    assert prom[k] == v, f"prometheus data source {k}={prom[k]!r}, want {v!r}"
assert prom["jsonData"]["httpMethod"] == "POST"
assert prom["jsonData"]["prometheusType"] == "Prometheus"
assert prom["jsonData"]["prometheusVersion"]
assert sources["loki"]["url"] == "http://bongsu:9090"

provider = yaml.safe_load(open("deploy/grafana/dashboards/bongsu.yml"))["providers"][0]
assert provider["options"]["path"] == "/var/lib/grafana/dashboards"

files = sorted(glob.glob(f"{dashboards_dir}/*.json"))
assert files, f"no dashboards in {dashboards_dir}"
uids = set()
for f in files:
    d = json.load(open(f))
    for key in ("uid", "title", "panels"):
        assert key in d, f"{f}: no {key}"
    assert d["uid"] not in uids, f"{f}: uid {d['uid']} twice"
    uids.add(d["uid"])
    # Panels name the data source through the dashboard's own variable, so Grafana resolves it
    # to the provisioned bongsu data source.
    variables = {v["name"]: v for v in d.get("templating", {}).get("list", [])}
    assert variables.get("datasource", {}).get("type") == "datasource", f"{f}: no datasource variable"
    assert variables["datasource"].get("query") == "prometheus", f"{f}: datasource variable not of prometheus"
print(f"deploy: compose, configs, data sources and {len(files)} dashboards checked")
PY
