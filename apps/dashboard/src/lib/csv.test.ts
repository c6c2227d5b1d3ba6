import { describe, expect, it } from "vitest";
import { csvField, toCsv } from "./csv";

describe("csv", () => {
  it("quotes only fields with a comma, quote, CR or LF, doubling quotes", () => {
    expect(csvField("plain")).toBe("plain");
    expect(csvField("a,b")).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField("two\nlines")).toBe('"two\nlines"');
    expect(csvField("cr\rhere")).toBe('"cr\rhere"');
    expect(csvField(" spaced ")).toBe(" spaced ");
    expect(csvField(null)).toBe("");
    expect(csvField(0.25)).toBe("0.25");
  });

  it("writes a header and one CRLF-terminated record per row, money as exact strings", () => {
    const rows = [
      { name: 'team "A", west', spend: "4.000000001", requests: 12 },
      { name: "b", spend: "0.000000000", requests: 0 },
    ];
    const csv = toCsv(
      [
        { header: "Name", value: (r: (typeof rows)[number]) => r.name },
        { header: "Spend (USD)", value: (r) => r.spend },
        { header: "Requests", value: (r) => r.requests },
      ],
      rows,
    );
    expect(csv).toBe(
      'Name,Spend (USD),Requests\r\n"team ""A"", west",4.000000001,12\r\nb,0.000000000,0\r\n',
    );
  });
});
