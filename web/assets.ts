// The browser client's files, served by the server at these paths. A placeholder until the web
// client lands: it is generated from the sources in web/ and committed, so that the standalone
// binaries embed it.
export const assets: ReadonlyMap<string, { type: string; body: string }> = new Map([
  ["/", {
    type: "text/html; charset=utf-8",
    body: `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Parley</title>
<p>Parley's web client is being built. Meanwhile, join from a terminal: <code>nc HOST 9009</code>.</p>
</html>
`,
  }],
]);
