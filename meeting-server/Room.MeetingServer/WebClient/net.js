// fetch for the web client's API calls. A GET that fails in the network (fetch's TypeError: no HTTP answer at all) is
// tried again twice, a quarter second apart: Chromium fails every request still connecting when any address on the
// machine changes (net::ERR_NETWORK_CHANGED; a VPN or a container coming up is enough), and a GET is safe to repeat.
// Anything else (a POST, an HTTP error) is the caller's to handle.
export async function request(url, init) {
  const tries = (init?.method ?? 'GET') === 'GET' ? 3 : 1;
  for (let i = 1; ; i++) {
    try {
      return await fetch(url, init);
    } catch (e) {
      if (!(e instanceof TypeError) || i >= tries) throw e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
