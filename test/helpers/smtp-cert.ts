// A self-signed certificate for 127.0.0.1 and localhost, made by openssl for one test run: the SMTP receiver serves
// it and a deliverer trusts it through its caFile only.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestCert {
  key: string;
  cert: string;
  /** The certificate as a PEM file: a CA file that trusts exactly this server. */
  caFile: string;
  remove(): void;
}

export function makeSelfSignedCert(cn = "localhost"): TestCert {
  const dir = mkdtempSync(join(tmpdir(), "scadalink-cert-"));
  const keyFile = join(dir, "key.pem");
  const caFile = join(dir, "cert.pem");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-days",
      "2",
      "-subj",
      `/CN=${cn}`,
      "-addext",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
      "-keyout",
      keyFile,
      "-out",
      caFile,
    ],
    { stdio: "pipe" },
  );
  return {
    key: readFileSync(keyFile, "utf8"),
    cert: readFileSync(caFile, "utf8"),
    caFile,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
