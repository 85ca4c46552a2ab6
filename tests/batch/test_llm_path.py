"""`screen --llm`: only INDETERMINATE or rule-less findings go to the LLM, concurrently and bounded; the rest stays on
the exact engine. The server is a real local HTTP server speaking the OpenAI chat-completions protocol."""

from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ingest.patients import read_lab_file
from ingest.patients.sdtm_ti import read_ti
from reasoning.batch import screen
from reasoning.llm import LLMClient
from reasoning.models import Verdict

LABS = """
patient_id,test,value,unit,uln,date
P1,ALT,70,U/L,,2024-03-01
P2,ALT,80,U/L,,2024-03-01
P3,ALT,90,U/L,,2024-03-01
P4,ALT,150,U/L,40,2024-03-01
P5,creatinine,3.0,mg/dL,,2024-03-01
"""


@contextmanager
def chat_server():
    seen = {"requests": [], "in_flight": 0, "max_in_flight": 0}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
            with lock:
                seen["requests"].append(body)
                seen["in_flight"] += 1
                seen["max_in_flight"] = max(seen["max_in_flight"], seen["in_flight"])
            time.sleep(0.2)  # long enough for concurrent requests to overlap
            schema = body["response_format"]["json_schema"]["schema"]
            ids = schema["properties"]["findings"]["items"]["properties"]["criterion_id"]["enum"]
            content = {"findings": [{"criterion_id": i, "verdict": "INDETERMINATE", "quote": "ALT",
                                     "rationale": "the ULN is missing"} for i in ids]}
            data = json.dumps({"choices": [{"message": {"role": "assistant", "content": json.dumps(content)}}]})
            with lock:
                seen["in_flight"] -= 1
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data.encode())

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", seen
    finally:
        server.shutdown()
        server.server_close()


def test_only_undecided_findings_reach_the_llm(write_csv, tiny_ti):
    lab = read_lab_file(write_csv(LABS))
    protocol = read_ti(tiny_ti)
    exact = screen(lab, [protocol])
    undecided = {(f.patient_id, f.finding.criterion_id) for f in exact.findings
                 if f.finding.verdict is Verdict.INDETERMINATE}
    assert {p for p, _ in undecided} == {"P1", "P2", "P3"}
    with chat_server() as (url, seen):
        client = LLMClient(url, "tiny", timeout_s=10, retries=0, concurrency=2)
        result = screen(lab, [protocol], llm=client)
        client.close()
    assert len(seen["requests"]) == 3  # one per patient with undecided findings
    assert 2 <= seen["max_in_flight"] <= 2  # concurrent, bounded by the client's concurrency
    sent = {i for body in seen["requests"]
            for i in body["response_format"]["json_schema"]["schema"]["properties"]["findings"]["items"]
            ["properties"]["criterion_id"]["enum"]}
    assert sent == {cid for _, cid in undecided}
    assert result.llm_used
    # deviations stay exactly as the engine decided them
    assert [(f.patient_id, f.finding.label, f.finding.verdict) for f in result.deviations] == \
           [(f.patient_id, f.finding.label, f.finding.verdict) for f in exact.deviations]
    assert {f.patient_id for f in result.deviations} == {"P4", "P5"}


def test_llm_down_falls_back_to_the_engine(write_csv, tiny_ti):
    lab = read_lab_file(write_csv(LABS))
    protocol = read_ti(tiny_ti)
    client = LLMClient("http://127.0.0.1:9/v1", "tiny", timeout_s=1, retries=0, concurrency=2)
    result = screen(lab, [protocol], llm=client)
    client.close()
    indeterminate = [f for f in result.findings if f.patient_id in {"P1", "P2", "P3"}]
    assert indeterminate and all(f.finding.verdict is Verdict.INDETERMINATE for f in indeterminate)
    assert any("fell back" in n for n in result.notes)
