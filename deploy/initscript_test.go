package deploy

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// initHarness runs deploy/mongo/init-replica-set.js in Node with mongosh's
// globals (rs, print, sleep, quit) scripted by a scenario: what rs.status()
// answers on each call and what rs.initiate() does. The clock advances only
// through sleep, so the timeout is reached without waiting.
const initHarness = `
const fs = require("fs");
const vm = require("vm");
const [script, scenarioJSON] = process.argv.slice(2);
const sc = JSON.parse(scenarioJSON);
let clock = 0, statusCalls = 0;
const out = { initiated: [], exit: 0, printed: [] };
class Quit { constructor(code) { this.code = code; } }
const answer = (a) => {
  if (a.error) { const e = new Error(a.error.codeName); Object.assign(e, a.error); throw e; }
  return a.value;
};
const rs = {
  status() {
    const a = sc.status[Math.min(statusCalls++, sc.status.length - 1)];
    return answer(a);
  },
  initiate(cfg) {
    out.initiated.push(cfg);
    if (sc.initiate) answer(sc.initiate);
    return { ok: 1 };
  },
};
const ctx = {
  rs,
  print: (...a) => out.printed.push(a.join(" ")),
  sleep: (ms) => { clock += ms; },
  quit: (code) => { throw new Quit(code); },
  Date: { now: () => clock },
};
try {
  vm.runInNewContext(fs.readFileSync(script, "utf8"), ctx, { filename: script });
} catch (e) {
  out.exit = e instanceof Quit ? e.code : 2;
  if (!(e instanceof Quit)) out.printed.push(String(e));
}
console.log(JSON.stringify(out));
`

type rsAnswer struct {
	Value any            `json:"value,omitempty"`
	Error map[string]any `json:"error,omitempty"`
}

func status(states ...string) rsAnswer {
	var members []map[string]any
	for i, s := range states {
		members = append(members, map[string]any{"name": mongoNodes[i] + ":27017", "stateStr": s})
	}
	return rsAnswer{Value: map[string]any{"ok": 1, "members": members}}
}

var notYetInitialized = rsAnswer{Error: map[string]any{"code": 94, "codeName": "NotYetInitialized"}}

// TestInitReplicaSetScript checks the init job's logic: it initiates the set
// only when needed, is safe to run again and when racing another run, waits
// for a primary, and fails (so services do not start) when none appears.
func TestInitReplicaSetScript(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is needed to run the init script's checks: %v", err)
	}
	dir := t.TempDir()
	harness := filepath.Join(dir, "harness.js")
	if err := os.WriteFile(harness, []byte(initHarness), 0o600); err != nil {
		t.Fatal(err)
	}
	script, _ := filepath.Abs(filepath.Join(repoRoot, "deploy", "mongo", "init-replica-set.js"))

	type result struct {
		Initiated []struct {
			ID      string `json:"_id"`
			Members []struct {
				Host string `json:"host"`
			} `json:"members"`
		} `json:"initiated"`
		Exit    int      `json:"exit"`
		Printed []string `json:"printed"`
	}
	run := func(t *testing.T, status []rsAnswer, initiate *rsAnswer) result {
		t.Helper()
		sc, _ := json.Marshal(map[string]any{"status": status, "initiate": initiate})
		out, err := exec.Command(node, harness, script, string(sc)).Output()
		if err != nil {
			t.Fatalf("harness: %v", err)
		}
		var r result
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatalf("harness output %s: %v", out, err)
		}
		t.Logf("printed: %q", r.Printed)
		return r
	}
	wantHosts := []string{"mongo1:27017", "mongo2:27017", "mongo3:27017"}

	t.Run("first run initiates all members and waits for the primary", func(t *testing.T) {
		r := run(t, []rsAnswer{notYetInitialized, status("STARTUP", "STARTUP", "STARTUP"), status("SECONDARY", "SECONDARY", "SECONDARY"), status("PRIMARY", "SECONDARY", "SECONDARY")}, nil)
		if r.Exit != 0 || len(r.Initiated) != 1 {
			t.Fatalf("exit %d after %d initiations, want 0 after 1", r.Exit, len(r.Initiated))
		}
		var hosts []string
		for _, m := range r.Initiated[0].Members {
			hosts = append(hosts, m.Host)
		}
		if r.Initiated[0].ID != "rs0" || !slices.Equal(hosts, wantHosts) {
			t.Errorf("initiated %s with %v, want rs0 with %v", r.Initiated[0].ID, hosts, wantHosts)
		}
	})
	t.Run("a second run leaves the set alone", func(t *testing.T) {
		r := run(t, []rsAnswer{status("SECONDARY", "PRIMARY", "SECONDARY")}, nil)
		if r.Exit != 0 || len(r.Initiated) != 0 {
			t.Errorf("exit %d after %d initiations, want 0 after none", r.Exit, len(r.Initiated))
		}
	})
	t.Run("losing the race to another run is fine", func(t *testing.T) {
		r := run(t, []rsAnswer{notYetInitialized, status("PRIMARY", "SECONDARY", "SECONDARY")},
			&rsAnswer{Error: map[string]any{"code": 23, "codeName": "AlreadyInitialized"}})
		if r.Exit != 0 {
			t.Errorf("exit %d, want 0", r.Exit)
		}
	})
	t.Run("an unexpected error fails the job", func(t *testing.T) {
		r := run(t, []rsAnswer{{Error: map[string]any{"code": 13, "codeName": "Unauthorized"}}}, nil)
		if r.Exit == 0 || len(r.Initiated) != 0 {
			t.Errorf("exit %d after %d initiations, want a failure and none", r.Exit, len(r.Initiated))
		}
	})
	t.Run("no primary in time fails the job", func(t *testing.T) {
		r := run(t, []rsAnswer{status("SECONDARY", "SECONDARY", "SECONDARY")}, nil)
		if r.Exit != 1 {
			t.Errorf("exit %d, want 1", r.Exit)
		}
	})
}
