// Bundles ts-mls (and the @noble/@hpke code it imports) into one ES module the web client's MLS worker imports:
// browsers' module workers cannot resolve bare package names. Run by `npm ci` (postinstall); output is not committed.
import { build } from "esbuild";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "Room.MeetingServer", "WebClient", "vendor", "mls.js");
mkdirSync(dirname(out), { recursive: true });
// ts-mls 1.6.4 reads the GroupInfo's external_pub extension as the bare HPKE key, while RFC 9420 (and Room.Crypto, which
// the rooms run) writes ExternalPub { opaque external_pub<V>; }, length-prefixed: ts-mls then refuses a room's GroupInfo
// ("Invalid public key for the ciphersuite"). Its signature check reads the extension as it is; only the key handed to
// HPKE loses the prefix here. (Room.Crypto accepts either form in what the browser uploads.)
const externalPubPatch = {
  name: "rfc9420-external-pub",
  setup(b) {
    b.onLoad({ filter: /ts-mls[\\/]dist[\\/]src[\\/]createCommit\.js$/ }, async (args) => {
      const { readFile } = await import("node:fs/promises");
      const src = await readFile(args.path, "utf8");
      const from = "exportSecret(externalPub.extensionData, cs)";
      if (!src.includes(from)) throw new Error("ts-mls changed: the external_pub patch no longer applies (" + args.path + ")");
      const helper = `
function roomExternalPubKey(data) {
  // RFC 9420 variable-length prefix (2 high bits: 1, 2 or 4 bytes), when the data is more than one key.
  if (data.length === 0) return data;
  const n = [1, 2, 4][data[0] >> 6];
  if (n === undefined || data.length <= n) return data;
  let len = data[0] & 0x3f;
  for (let i = 1; i < n; i++) len = len * 256 + data[i];
  return len === data.length - n ? data.subarray(n) : data;
}
`;
      return { contents: src.replace(from, "exportSecret(roomExternalPubKey(externalPub.extensionData), cs)") + helper, loader: "js" };
    });
  },
};

// ts-mls 1.6.4 also reads the group context's external_senders extension as one bare ExternalSender, while RFC 9420
// (12.1.8.1, and Room.Crypto and the meeting server) writes ExternalSender external_senders<V>, a length-prefixed list:
// ts-mls then refuses the group ("Could not decode external_senders"). Its decoder takes the list's first sender (the
// meeting server, the only one) when the data is such a list, and the bare form otherwise.
const externalSendersPatch = {
  name: "rfc9420-external-senders",
  setup(b) {
    b.onLoad({ filter: /ts-mls[\/]dist[\/]src[\/]externalSender\.js$/ }, async (args) => {
      const { readFile } = await import("node:fs/promises");
      const src = await readFile(args.path, "utf8");
      const from = "export const decodeExternalSender = mapDecoders(";
      if (!src.includes(from)) throw new Error("ts-mls changed: the external_senders patch no longer applies (" + args.path + ")");
      const wrapper = `
export const decodeExternalSender = (b, offset) => {
  if (offset === 0 && b.length > 0) {
    const n = [1, 2, 4][b[0] >> 6];
    if (n !== undefined && b.length > n) {
      let len = b[0] & 0x3f;
      for (let i = 1; i < n; i++) len = len * 256 + b[i];
      if (len === b.length - n) {
        const first = decodeExternalSenderBare(b, n);
        if (first !== undefined) return [first[0], first[1] + n];
      }
    }
  }
  return decodeExternalSenderBare(b, offset);
};
`;
      return { contents: src.replace(from, "const decodeExternalSenderBare = mapDecoders(") + wrapper, loader: "js" };
    });
  },
};

await build({
  plugins: [externalPubPatch, externalSendersPatch],
  entryPoints: [join(here, "mls-entry.js")],
  outfile: out,
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  minify: true,
  legalComments: "eof",
  // Optional peers of ts-mls for suites the organisation does not use (post-quantum, X448): never loaded.
  external: ["@hpke/ml-kem", "@hpke/hybridkem-x-wing", "@hpke/dhkem-x448", "@noble/post-quantum/*", "@noble/curves/ed448.js"],
  logLevel: "warning",
});
console.log("web client: bundled ts-mls into " + out);
