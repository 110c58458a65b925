#!/usr/bin/env bash
# The seed walkthrough on a one-machine tug cluster, without any registry:
# a busybox-static image stands in for ruo91/nginx and kube-ui.
#
#   make demo                 # build, run the scenario, stop and clean up
#   KEEP=1 make demo          # leave the cluster running afterwards
#
# Environment: TUG (binary, default bin/tug), DEMO_DIR (state, default
# /var/lib/tug-demo), DEMO_LISTEN (API address, default 127.0.0.1:8080).
set -euo pipefail
cd "$(dirname "$0")/.."

TUG=${TUG:-bin/tug}
DIR=${DEMO_DIR:-/var/lib/tug-demo}
LISTEN=${DEMO_LISTEN:-127.0.0.1:8080}
S="-s $LISTEN"
IMAGE=tug.local/busybox:1
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { say "$*"; "$@"; }

if [ "$(id -u)" != 0 ]; then echo "demo: run as root (sudo make demo)" >&2; exit 1; fi
[ -x "$TUG" ] || { echo "demo: $TUG not found; run make build" >&2; exit 1; }
if (exec 3<>"/dev/tcp/${LISTEN%:*}/${LISTEN##*:}") 2>/dev/null; then
	echo "demo: something already listens on $LISTEN; stop it or set DEMO_LISTEN" >&2; exit 1
fi

up_pid=
cleanup() {
	if [ -n "$up_pid" ] && kill -0 "$up_pid" 2>/dev/null; then
		kill -TERM "$up_pid"; wait "$up_pid" || true
	fi
	"$TUG" reset --data-dir "$DIR" >/dev/null 2>&1 || true
	rm -rf "$DIR"
}

mkdir -p "$DIR"
say "building a local image from Debian's busybox-static (no registry needed)"
"$TUG" image build-busybox -o "$DIR/busybox.tar" --tag "$IMAGE" --cmd 'httpd -f -p 80 -h /www' --port 80/tcp
"$TUG" image import "$DIR/busybox.tar" --data-dir "$DIR/agent"

say "$TUG up --data-dir $DIR --listen $LISTEN   (API server + etcd + controllers + node agent)"
"$TUG" up --data-dir "$DIR" --listen "$LISTEN" >"$DIR/up.log" 2>&1 &
up_pid=$!
[ -n "${KEEP:-}" ] || trap cleanup EXIT
for i in $(seq 100); do
	"$TUG" get nodes $S 2>/dev/null | grep -q ' Ready ' && break
	kill -0 "$up_pid" 2>/dev/null || { cat "$DIR/up.log"; exit 1; }
	sleep 0.2
done
run "$TUG" get nodes -o wide $S

# The seed's nginx.yaml with its image swapped for the local one.
sed -e "s#image: ruo91/nginx:latest#image: $IMAGE#" examples/nginx.yaml >"$DIR/nginx.yaml"
run "$TUG" create -f "$DIR/nginx.yaml" $S
for i in $(seq 150); do
	[ "$("$TUG" get pods $S --no-headers 2>/dev/null | grep -c ' Running ')" = 10 ] && break
	sleep 0.2
done
run "$TUG" get pods $S
run "$TUG" describe -f "$DIR/nginx.yaml" $S

pod=$("$TUG" get pods $S --no-headers | awk 'NR==1{print $1}')
ip=$("$TUG" get pods $S -o wide --no-headers | awk 'NR==1{print $6}')
say "busybox wget -q -O - http://$ip/   (a pod, over the bridge)"
busybox wget -q -O - "http://$ip/"

run "$TUG" stop pods "$pod" $S
run "$TUG" get pods $S
run "$TUG" top nodes $S
run "$TUG" top pods -l app=nginx $S

# kube-ui, also with the local image (serving on 8080, as kube-ui did).
sed -e "s#image: gcr.io/google_containers/kube-ui:v3#image: $IMAGE\n        command: [httpd, -f, -p, \"8080\", -h, /www]#" examples/kube-ui-rc.yaml >"$DIR/kube-ui-rc.yaml"
run "$TUG" create -f "$DIR/kube-ui-rc.yaml" --namespace=kube-system $S
run "$TUG" create -f examples/kube-ui-svc.yaml --namespace=kube-system $S
for i in $(seq 100); do
	"$TUG" get endpoints kube-ui -n kube-system $S --no-headers 2>/dev/null | grep -q ':8080' && break
	sleep 0.2
done
run "$TUG" get rc,svc,endpoints -n kube-system $S
vip=$("$TUG" get svc kube-ui -n kube-system $S --no-headers | awk '{print $3}')
say "busybox wget -q -O - http://$vip/   (the Service's ClusterIP, translated in eBPF)"
timeout 5 busybox wget -q -O - "http://$vip/" || echo "(the ClusterIP did not answer: is the eBPF service proxy available? see $DIR/up.log)"
run "$TUG" bpf lb list

if [ -n "${KEEP:-}" ]; then
	printf '\nThe cluster keeps running (pid %s, logs in %s/up.log): tug get pods -s %s\n' "$up_pid" "$DIR" "$LISTEN"
	printf 'Stop it with: kill %s; then tug reset --data-dir %s\n' "$up_pid" "$DIR"
else
	printf '\nDone; stopping the cluster and removing its state (KEEP=1 keeps it running).\n'
fi
