// ts-mls peer for Room.Crypto interop tests. One JSON request per stdin line, one JSON reply per stdout line.
// Binary values are hex strings. Errors reply {"error": "..."}.
import * as readline from "node:readline";
import {
  acceptAll, createApplicationMessage, createCommit, createGroup, decodeMlsMessage, defaultCapabilities,
  defaultLifetime, emptyPskIndex, encodeMlsMessage, generateKeyPackage, getCiphersuiteFromName, getCiphersuiteImpl,
  joinGroup, joinGroupExternal, mlsExporter, processMessage, createGroupInfoWithExternalPubAndRatchetTree,
} from "ts-mls";

const hex = (b) => Buffer.from(b).toString("hex");
const unhex = (s) => new Uint8Array(Buffer.from(s, "hex"));
const suiteNames = {
  1: "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519",
  2: "MLS_128_DHKEMP256_AES128GCM_SHA256_P256",
  3: "MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519",
  5: "MLS_256_DHKEMP521_AES256GCM_SHA512_P521",
  7: "MLS_256_DHKEMP384_AES256GCM_SHA384_P384",
};

let cs, kp, state;

function decode(h) {
  const r = decodeMlsMessage(unhex(h), 0);
  if (!r) throw new Error("cannot decode MLSMessage");
  return r[0];
}

function enc(msg) {
  return hex(encodeMlsMessage(msg));
}

const handlers = {
  async init({ suite, name }) {
    cs = await getCiphersuiteImpl(getCiphersuiteFromName(suiteNames[suite]));
    const credential = { credentialType: "basic", identity: new TextEncoder().encode(name) };
    kp = await generateKeyPackage(credential, defaultCapabilities(), defaultLifetime, [], cs);
    return { keyPackage: enc({ version: "mls10", wireformat: "mls_key_package", keyPackage: kp.publicPackage }) };
  },
  async create({ groupId }) {
    state = await createGroup(unhex(groupId), kp.publicPackage, kp.privatePackage, [], cs);
    return {};
  },
  async add({ keyPackage, asPublic }) {
    const m = decode(keyPackage);
    const r = await createCommit({ state, cipherSuite: cs }, {
      extraProposals: [{ proposalType: "add", add: { keyPackage: m.keyPackage } }],
      ratchetTreeExtension: true,
      wireAsPublicMessage: !!asPublic,
    });
    state = r.newState;
    return {
      commit: enc(r.commit),
      welcome: r.welcome ? enc({ version: "mls10", wireformat: "mls_welcome", welcome: r.welcome }) : null,
    };
  },
  async remove({ leaf, asPublic }) {
    const r = await createCommit({ state, cipherSuite: cs }, {
      extraProposals: [{ proposalType: "remove", remove: { removed: leaf } }],
      wireAsPublicMessage: !!asPublic,
    });
    state = r.newState;
    return { commit: enc(r.commit) };
  },
  async commit({ asPublic }) {
    const r = await createCommit({ state, cipherSuite: cs }, { wireAsPublicMessage: !!asPublic });
    state = r.newState;
    return { commit: enc(r.commit) };
  },
  async join({ welcome }) {
    const m = decode(welcome);
    state = await joinGroup(m.welcome, kp.publicPackage, kp.privatePackage, emptyPskIndex, cs);
    return {};
  },
  // External join from a GroupInfo (with external_pub and the ratchet tree); the commit goes to the members.
  async joinExternal({ groupInfo }) {
    const m = decode(groupInfo);
    const r = await joinGroupExternal(m.groupInfo, kp.publicPackage, kp.privatePackage, false, cs);
    state = r.newState;
    return { commit: enc({ version: "mls10", wireformat: "mls_public_message", publicMessage: r.publicMessage }) };
  },
  async send({ data }) {
    const r = await createApplicationMessage(state, unhex(data), cs);
    state = r.newState;
    return { message: enc({ version: "mls10", wireformat: "mls_private_message", privateMessage: r.privateMessage }) };
  },
  async process({ message }) {
    const m = decode(message);
    const r = await processMessage(m, state, emptyPskIndex, acceptAll, cs);
    state = r.newState;
    return r.kind === "applicationMessage" ? { kind: "application", data: hex(r.message) } : { kind: "state" };
  },
  async groupInfo() {
    const gi = await createGroupInfoWithExternalPubAndRatchetTree(state, [], cs);
    return { groupInfo: enc({ version: "mls10", wireformat: "mls_group_info", groupInfo: gi }) };
  },
  async state({ label, context, length }) {
    const exported = label ? hex(await mlsExporter(state.keySchedule.exporterSecret, label, unhex(context ?? ""), length ?? 32, cs)) : null;
    return {
      epoch: Number(state.groupContext.epoch),
      epochAuthenticator: hex(state.keySchedule.epochAuthenticator),
      treeHash: hex(state.groupContext.treeHash),
      exported,
    };
  },
};

const rl = readline.createInterface({ input: process.stdin });
for await (const line of rl) {
  if (!line.trim()) continue;
  let reply;
  try {
    const req = JSON.parse(line);
    const h = handlers[req.cmd];
    if (!h) throw new Error("unknown command " + req.cmd);
    reply = await h(req);
  } catch (e) {
    reply = { error: String(e?.stack ?? e) };
  }
  process.stdout.write(JSON.stringify(reply) + "\n");
}
