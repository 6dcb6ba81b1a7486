#!/usr/bin/python3
"""`make bench-web`: load on `protea serve`, written to bench/results/web.md.

A cnn trained briefly on Fashion-MNIST (BENCH_WEB_LIMIT items, 1 epoch: the speed, not the accuracy, is
measured) is served on loopback by the built CLI as a whole process (`protea serve --threads BENCH_THREADS`),
once on TorchSharp and once on ONNX Runtime (after `protea export`). BENCH_WEB_CLIENTS concurrent clients
(threads, one keep-alive connection each) each POST BENCH_WEB_REQUESTS single-image predictions of 28x28
PNGs from the test split to /api/predict, after a warm-up. Every answer is checked (status 200, one
prediction with a class); errors are counted. Latency is per request, client side. The client shares the
machine's cores with the server, so the figures include its overhead.
Environment: BENCH_WEB_CLIENTS (default 50), BENCH_WEB_REQUESTS (default 20), BENCH_THREADS (default 2),
BENCH_WEB_LIMIT (default 5000)."""
import datetime, gzip, resource, http.client, io, json, os, socket, subprocess, sys, threading, time, uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.chdir(ROOT)
PY = "/usr/bin/python3"
CLI = ["dotnet", "src/Protea.Cli/bin/Release/net10.0/Protea.Cli.dll"]
OUT = "bench/out/web"
CLIENTS = int(os.environ.get("BENCH_WEB_CLIENTS", "50"))
REQUESTS = int(os.environ.get("BENCH_WEB_REQUESTS", "20"))
THREADS = int(os.environ.get("BENCH_THREADS", "2"))
LIMIT = int(os.environ.get("BENCH_WEB_LIMIT", "5000"))
os.makedirs(OUT, exist_ok=True)

def log(msg):
    print(f"[bench-web {datetime.datetime.now():%H:%M:%S}] {msg}", file=sys.stderr, flush=True)

def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed ({p.returncode}):\n{p.stderr[-3000:]}")
    return p.stdout

def cpu_line():
    model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    flags = next((l for l in open("/proc/cpuinfo") if l.startswith("flags")), "")
    isa = ", ".join(f for f in ["avx2", "avx512f"] if f" {f}" in flags) or "no AVX2"
    return f"{model} ({isa}), {os.cpu_count()} logical CPUs"

def test_pngs(count=100):
    """28x28 grayscale PNGs of the test split, encoded by Debian's python3 (numpy + PIL)."""
    code = f"""
import gzip, io, sys, numpy as np
from PIL import Image
x = np.frombuffer(gzip.open('/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz').read(), np.uint8, offset=16).reshape(-1, 28, 28)
for i in range({count}):
    b = io.BytesIO(); Image.fromarray(x[i]).save(b, 'PNG'); sys.stdout.buffer.write(len(b.getvalue()).to_bytes(4, 'big') + b.getvalue())
"""
    data = subprocess.run([PY, "-c", code], capture_output=True, check=True).stdout
    pngs, i = [], 0
    while i < len(data):
        n = int.from_bytes(data[i:i + 4], "big"); pngs.append(data[i + 4:i + 4 + n]); i += 4 + n
    return pngs

def multipart(png):
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.png\"\r\nContent-Type: image/png\r\n\r\n").encode() \
        + png + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"

def cpu_seconds(pid):
    """User + system CPU seconds of a process so far (/proc/PID/stat, clock ticks), all its threads."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); return s.getsockname()[1]

def serve(model):
    port = free_port()
    proc = subprocess.Popen(CLI + ["serve", "--model", model, "--port", str(port), "--threads", str(THREADS)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for _ in range(300):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2); c.request("GET", "/healthz")
            if c.getresponse().status == 200: return proc, port
        except OSError:
            time.sleep(0.1)
        if proc.poll() is not None: sys.exit(f"bench: serve exited: {proc.stderr.read()[-2000:]}")
    sys.exit("bench: serve did not come up")

def load(port, pngs):
    bodies = [multipart(p) for p in pngs]
    latencies, errors, lock = [], [], threading.Lock()
    start_gate = threading.Barrier(CLIENTS + 1)
    def client(k):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine = []
        start_gate.wait()
        for r in range(REQUESTS):
            body, ctype = bodies[(k * REQUESTS + r) % len(bodies)]
            t = time.perf_counter()
            try:
                conn.request("POST", "/api/predict", body=body, headers={"Content-Type": ctype})
                resp = conn.getresponse(); data = resp.read()
                ok = resp.status == 200 and len(json.loads(data)["predictions"]) == 1
                if not ok: raise ValueError(f"status {resp.status}: {data[:200]!r}")
                mine.append(time.perf_counter() - t)
            except Exception as e:  # noqa: BLE001 - every failure is an error to count
                with lock: errors.append(str(e))
                conn.close(); conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        with lock: latencies.extend(mine)
    threads = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
    for t in threads: t.start()
    start_gate.wait(); t0 = time.perf_counter()
    for t in threads: t.join()
    wall = time.perf_counter() - t0
    latencies.sort()
    q = lambda p: 1000 * latencies[min(len(latencies) - 1, int(p * len(latencies)))] if latencies else float("nan")
    return {"requests": CLIENTS * REQUESTS, "errors": len(errors), "first_error": errors[0] if errors else None,
            "p50": q(0.50), "p95": q(0.95), "p99": q(0.99), "max": 1000 * latencies[-1] if latencies else float("nan"),
            "rps": len(latencies) / wall, "wall": wall}

def bench(model, engine, pngs):
    proc, port = serve(model)
    try:
        c = http.client.HTTPConnection("127.0.0.1", port); c.request("GET", "/api/model"); info = json.loads(c.getresponse().read())
        assert info["engine"] == engine, f"expected engine {engine}, server runs {info['engine']}"
        for p in pngs * 3:  # warm-up (300 requests: JIT tiers settle)
            body, ctype = multipart(p); c.request("POST", "/api/predict", body=body, headers={"Content-Type": ctype}); c.getresponse().read()
        log(f"{engine}: {CLIENTS} clients x {REQUESTS} requests")
        server0, client0 = cpu_seconds(proc.pid), resource.getrusage(resource.RUSAGE_SELF)
        r = load(port, pngs)
        server1, client1 = cpu_seconds(proc.pid), resource.getrusage(resource.RUSAGE_SELF)
        r["server_cpu_ms"] = 1000 * (server1 - server0) / r["requests"]
        r["client_cpu_ms"] = 1000 * ((client1.ru_utime + client1.ru_stime) - (client0.ru_utime + client0.ru_stime)) / r["requests"]
        return r
    finally:
        proc.terminate(); proc.wait(timeout=30)

model = f"{OUT}/model"
if not os.path.exists(f"{model}/model.json"):
    log("training the served model")
    run(CLI + ["train", "--data", "fashion-mnist", "--limit", str(LIMIT), "--epochs", "1", "--out", model, "--threads", str(THREADS)])
onnx = f"{model}/model.onnx"
if os.path.exists(onnx): os.remove(onnx)
pngs = test_pngs()
results = {"torch": bench(model, "torch", pngs)}
run(CLI + ["export", "--model", model, "--format", "onnx"])
results["onnx"] = bench(model, "onnx", pngs)

lines = ["# Web app load benchmark", "",
         f"Command: `BENCH_WEB_CLIENTS={CLIENTS} BENCH_WEB_REQUESTS={REQUESTS} BENCH_THREADS={THREADS} BENCH_WEB_LIMIT={LIMIT} make bench-web`  ",
         f"Date: {datetime.datetime.now():%Y-%m-%d %H:%M}  ", f"CPU: {cpu_line()}  ", f"Server threads: {THREADS}", "",
         f"`protea serve` (whole process, loopback) over a cnn trained for 1 epoch on {LIMIT:,} Fashion-MNIST items; {CLIENTS} concurrent "
         f"clients (Python threads, one keep-alive connection each) x {REQUESTS} single-image POST /api/predict of 28x28 PNGs; "
         "latency measured by the client, which shares the 2 cores with the server (and, on this machine, with other jobs: load average "
         f"{os.getloadavg()[0]:.1f} at the end). Server and client CPU are milliseconds of CPU time per request (all threads); "
         "2000 / server CPU ms is the request rate two dedicated cores could serve. Target: 0 errors, p95 < 30 ms.", "",
         "| engine | requests | errors | p50 ms | p95 ms | p99 ms | max ms | requests/s | server CPU ms/req | client CPU ms/req | p95 < 30 ms |",
         "|---|---|---|---|---|---|---|---|---|---|---|"]
for engine, r in results.items():
    lines.append(f"| {engine} | {r['requests']} | {r['errors']} | {r['p50']:.1f} | {r['p95']:.1f} | {r['p99']:.1f} | {r['max']:.1f} | {r['rps']:.0f} | {r['server_cpu_ms']:.2f} | {r['client_cpu_ms']:.2f} | "
                 f"{'yes' if r['p95'] < 30 and r['errors'] == 0 else 'no'} |")
need = CLIENTS / 0.030
lines += ["", f"Reading: {CLIENTS} clients in a closed loop keep {CLIENTS} requests in flight, so a mean latency under 30 ms needs "
          f"{need:,.0f} requests/s or more (Little's law). At the measured server CPU per request that is "
          + ", ".join(f"{engine} {need * r['server_cpu_ms'] / 1000:.1f} cores" for engine, r in results.items())
          + " of the server's own work, beside the client's; the requests/s column is what the server got of a shared machine."]
for engine, r in results.items():
    if r["first_error"]: lines.append(f"\nFirst {engine} error: `{r['first_error']}`")
os.makedirs("bench/results", exist_ok=True)
with open("bench/results/web.md", "w") as f: f.write("\n".join(lines) + "\n")
print("\n".join(lines))
