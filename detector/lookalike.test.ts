import { describe, expect, it } from "vitest";
import { createLookalikeChecker, editDistance, registrableDomain } from "./lookalike.js";

describe("registrableDomain()", () => {
  it("keeps the last two labels, three under a public second level, none for addresses", () => {
    expect(registrableDomain("update.microsoft.com")).toBe("microsoft.com");
    expect(registrableDomain("www.bbc.co.uk")).toBe("bbc.co.uk");
    expect(registrableDomain("github.com.")).toBe("github.com");
    expect(registrableDomain("10.0.0.1")).toBe("");
    expect(registrableDomain("2001:db8::1")).toBe("");
  });
});

describe("editDistance()", () => {
  it("counts an adjacent swap once and stops past the bound", () => {
    expect(editDistance("micorsoft", "microsoft", 2)).toBe(1);
    expect(editDistance("rnicrosoft", "microsoft", 2)).toBe(2);
    expect(editDistance("github", "gitlab", 2)).toBe(2);
    expect(editDistance("netflix", "microsoft", 2)).toBeGreaterThan(2);
  });
});

describe("createLookalikeChecker()", () => {
  const checker = createLookalikeChecker([
    "update.microsoft.com",
    "github.com",
    "outlook.office365.com",
    "dc01.corp.local",
    "10.0.0",
  ]);

  it("flags unseen domains that hyphenate, misspell or swap glyphs in a known brand", () => {
    for (const d of [
      "update-microsoft.com",
      "microsoft-cdn.net",
      "rnicrosoft.com",
      "micros0ft.com",
      "githhub.com",
      "office365-login.net",
    ])
      expect(checker.score(d), d).toBe(1);
  });

  it("leaves known domains, their subdomains and unrelated new ones alone", () => {
    for (const d of [
      "microsoft.com",
      "download.microsoft.com",
      "api.github.com",
      "example.org",
      "news-site.com",
      "local",
      "",
    ])
      expect(checker.score(d), d).toBe(0);
  });
});
