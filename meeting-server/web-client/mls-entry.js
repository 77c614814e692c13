// What the web client's MLS worker uses of ts-mls (bundled by build.mjs into WebClient/vendor/mls.js).
export * from "ts-mls";
export { expandWithLabel } from "ts-mls/crypto/kdf.js";
export { p256 } from "@noble/curves/nist.js";
