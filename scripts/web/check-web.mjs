// Drives the web page of `unmask serve` in headless Chromium as a person would: uploads a clip,
// waits for the verdict, opens the full report, checks a marked image's watermark; screenshots
// at desktop and phone widths. Run by scripts/check-web.sh (which starts the server).
//
//   node check-web.mjs BASE_URL CLIP MARKED_IMAGE OUT_DIR
import { chromium } from "playwright-core";

const [base, clip, marked, out] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM, args: ["--no-sandbox"] });
let failures = 0;
const check = (ok, what) => {
  console.log((ok ? "ok    " : "FAIL  ") + what);
  if (!ok) failures++;
};

for (const [label, viewport] of [["desktop", { width: 1280, height: 900 }], ["phone", { width: 390, height: 844 }]]) {
  const page = await browser.newPage({ viewport });
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(base + "/");
  check((await page.title()) === "unmask", `${label}: the page loads`);

  await page.setInputFiles("#scan-file", clip);
  await page.click("#scan-form button");
  const verdict = page.locator("#jobs .job .verdict").first();
  await page.waitForFunction(() => {
    const v = document.querySelector("#jobs .job .verdict");
    return v && !["queued", "running"].includes(v.textContent.trim());
  }, null, { timeout: 120000 });
  const text = (await verdict.textContent()).trim();
  check(["authentic", "suspicious", "manipulated", "not applicable"].includes(text), `${label}: scan verdict shown (${text})`);
  check(await page.locator("#jobs .job dl").first().isVisible(), `${label}: score and reason shown`);
  const [report] = await Promise.all([
    page.context().waitForEvent("page"),
    page.click("#jobs .job a"),
  ]);
  await report.waitForLoadState();
  check((await report.content()).includes("unmask"), `${label}: the full report opens`);
  await report.close();

  await page.setInputFiles("#verify-file", marked);
  await page.click("#verify-form button");
  await page.waitForSelector("#verify-result dl", { timeout: 60000 });
  const verify = await page.locator("#verify-result dl").textContent();
  check(verify.includes("found: issuer 4660"), `${label}: watermark check shows the issuer`);

  // No part of the page is wider than the screen.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, `${label}: no horizontal scrolling (${overflow} px)`);
  check(errors.length === 0, `${label}: no script errors ${errors.join("; ")}`);
  await page.screenshot({ path: `${out}/web-${label}.png`, fullPage: true });
  console.log(`      ${out}/web-${label}.png`);
  await page.close();
}
await browser.close();
process.exit(failures ? 1 : 0);
