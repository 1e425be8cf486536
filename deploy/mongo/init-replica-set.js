// Initiates the rs0 replica set of docker-compose.yml and waits for a primary.
//
// Run by the one-shot mongo-init container on every `docker compose up`:
//   mongosh --quiet --norc --host mongo1:27017 --file init-replica-set.js
// It is idempotent: when the set already exists it only waits for a primary,
// so a restart of the stack (or of this container) is safe.
// deploy/compose_test.go checks that these members are the compose services.

const replSet = "rs0";
const members = [
  { _id: 0, host: "mongo1:27017" },
  { _id: 1, host: "mongo2:27017" },
  { _id: 2, host: "mongo3:27017" },
];
const timeoutMs = 120 * 1000;

// NotYetInitialized (94) means rs.initiate has never run on this node.
function initiated() {
  try {
    return rs.status().ok === 1;
  } catch (e) {
    if (e.code === 94 || e.codeName === "NotYetInitialized") {
      return false;
    }
    throw e;
  }
}

if (initiated()) {
  print(`replica set ${replSet} already initiated`);
} else {
  try {
    rs.initiate({ _id: replSet, members: members });
    print(`replica set ${replSet} initiated with ${members.map((m) => m.host).join(", ")}`);
  } catch (e) {
    // AlreadyInitialized (23): another run won the race; that is fine.
    if (e.code !== 23 && e.codeName !== "AlreadyInitialized") {
      throw e;
    }
    print(`replica set ${replSet} already initiated`);
  }
}

// Services start only after this container exits 0, so wait until the set
// can take majority writes.
const deadline = Date.now() + timeoutMs;
for (;;) {
  let primary;
  try {
    primary = rs.status().members.find((m) => m.stateStr === "PRIMARY");
  } catch (e) {
    print(`waiting for the replica set: ${e.message}`);
  }
  if (primary) {
    print(`primary is ${primary.name}`);
    break;
  }
  if (Date.now() > deadline) {
    print(`no primary after ${timeoutMs / 1000}s`);
    quit(1);
  }
  sleep(1000);
}
