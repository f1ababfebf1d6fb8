import Foundation
import XCTest
@testable import ProfilerCore

final class SchemaTests: XCTestCase {
    func testManifestRoundTrip() throws {
        let m = try exampleManifest()
        XCTAssertEqual(m.schema, SchemaVersion.manifest)
        XCTAssertEqual(m.entries.count, 3)
        XCTAssertEqual(m.measurement, MeasurementProtocol())
        let data = try JSONEncoder().encode(m)
        XCTAssertEqual(try Manifest.decode(data), m)
        // The re-encoded manifest still satisfies the schema.
        XCTAssertEqual(try manifestValidator().errors(try JSONValue.parse(data)), [])
    }

    func testResultsRoundTrip() throws {
        let contents = try ResultsFile.read(examplesDir.appendingPathComponent("results.jsonl"))
        XCTAssertNil(contents.droppedLastLine)
        XCTAssertEqual(contents.lines.map(\.kind), ["header", "overhead", "overhead", "entry", "entry", "entry", "footer"])
        let v = try resultsValidator()
        for line in contents.lines {
            let text = try line.jsonLine()
            XCTAssertEqual(try ResultLine.decode(line: text), line)
            XCTAssertNoThrow(try v.validateResultsLine(try JSONValue.parse(text)), text)
        }
        XCTAssertEqual(contents.entries[0].plannedCost, PlannedCost(ane: 1, gpu: 0, cpu: 0))
        XCTAssertNil(contents.entries[2].plannedCost)
        // planned_cost null is written explicitly, not omitted.
        XCTAssertTrue(try ResultLine.entry(contents.entries[2]).jsonLine().contains("\"planned_cost\":null"))
    }

    func testExamplesValidateAgainstSchemaFiles() throws {
        let mv = try manifestValidator()
        XCTAssertEqual(mv.errors(try JSONValue.parse(readText(examplesDir.appendingPathComponent("manifest.json")))), [])
        let rv = try resultsValidator()
        let lines = readText(examplesDir.appendingPathComponent("results.jsonl")).split(separator: "\n")
        XCTAssertEqual(lines.count, 7)
        for l in lines { XCTAssertNoThrow(try rv.validateResultsLine(try JSONValue.parse(String(l)))) }
        // The examples agree with each other.
        let report = ResultsChecker(manifest: try exampleManifest())
            .check(try ResultsFile.read(examplesDir.appendingPathComponent("results.jsonl")))
        XCTAssertEqual(report.errors, [])
        XCTAssertEqual(report.missing, [])
    }

    /// Applies `edit` to a copy of the example manifest and returns the validator's errors.
    func manifestErrors(_ edit: (inout [String: JSONValue]) -> Void) throws -> [String] {
        guard case var .object(o) = try JSONValue.parse(readText(examplesDir.appendingPathComponent("manifest.json"))) else {
            XCTFail("not an object")
            return []
        }
        edit(&o)
        return try manifestValidator().errors(.object(o))
    }

    func testBrokenManifestsAreRejected() throws {
        XCTAssertTrue(try manifestErrors { $0["bundle_id"] = nil }.contains { $0.contains("bundle_id") })
        XCTAssertFalse(try manifestErrors { $0["bundle_id"] = .string("xyz") }.isEmpty)
        XCTAssertFalse(try manifestErrors { $0["schema"] = .string("nas.profiling.manifest/2") }.isEmpty)
        XCTAssertFalse(try manifestErrors { $0["units"] = .array([.string("npu")]) }.isEmpty)
        XCTAssertFalse(try manifestErrors { $0["units"] = .array([]) }.isEmpty)
        XCTAssertFalse(try manifestErrors { $0["extra"] = .bool(true) }.isEmpty)
        XCTAssertFalse(try manifestErrors { $0["created"] = .string("yesterday") }.isEmpty)
        XCTAssertFalse(try manifestErrors { o in
            if case var .object(p)? = o["protocol"] { p["min_runs"] = .number(0); o["protocol"] = .object(p) }
        }.isEmpty)
        XCTAssertFalse(try manifestErrors { o in
            if case var .object(p)? = o["protocol"] { p["warmup_runs"] = .number(1.5); o["protocol"] = .object(p) }
        }.isEmpty)
        XCTAssertFalse(try manifestErrors { o in
            if case var .array(es)? = o["entries"], case var .object(e) = es[0] {
                e["inputs"] = .array([.object(["name": .string("x"), "shape": .array([.number(1)]), "dtype": .string("int8")])])
                es[0] = .object(e)
                o["entries"] = .array(es)
            }
        }.isEmpty)
    }

    func testBrokenResultLinesAreRejected() throws {
        let rv = try resultsValidator()
        let lines = readText(examplesDir.appendingPathComponent("results.jsonl")).split(separator: "\n").map(String.init)
        func broken(_ i: Int, _ edit: (inout [String: JSONValue]) -> Void) throws -> Bool {
            guard case var .object(o) = try JSONValue.parse(lines[i]) else { return false }
            edit(&o)
            return (try? rv.validateResultsLine(.object(o))) == nil
        }
        XCTAssertTrue(try broken(0) { $0["schema"] = .string("nas.profiling.results/0") })
        XCTAssertTrue(try broken(0) { $0["unit"] = .string("npu") })
        XCTAssertTrue(try broken(0) { $0["device"] = .object(["name": .string("iphone11")]) })
        XCTAssertTrue(try broken(3) { $0["latency_ms"] = .number(-1) })
        XCTAssertTrue(try broken(3) { $0["thermal_state"] = .string("hot") })
        XCTAssertTrue(try broken(3) { $0["planned_cost"] = .string("n/a") })
        XCTAssertTrue(try broken(3) { $0["stats"] = .object([:]) })
        XCTAssertTrue(try broken(3) { $0["kind"] = .string("entri") })
        XCTAssertTrue(try broken(6) { $0["entries"] = .number(-3) })
        XCTAssertFalse(try broken(3) { _ in })
    }

    func testUnknownSchemaVersionsAreRefused() throws {
        var text = readText(examplesDir.appendingPathComponent("manifest.json"))
        text = text.replacingOccurrences(of: "nas.profiling.manifest/1", with: "nas.profiling.manifest/2")
        XCTAssertThrowsError(try Manifest.decode(Data(text.utf8))) { error in
            XCTAssertTrue("\(error)".contains("nas.profiling.manifest/2"), "\(error)")
            XCTAssertTrue("\(error)".contains("unsupported schema"), "\(error)")
        }
        let header = readText(examplesDir.appendingPathComponent("results.jsonl")).split(separator: "\n")[0]
            .replacingOccurrences(of: "nas.profiling.results/1", with: "nas.profiling.results/9")
        XCTAssertThrowsError(try ResultLine.decode(line: header)) { error in
            XCTAssertTrue("\(error)".contains("unsupported schema"), "\(error)")
        }
        XCTAssertThrowsError(try ResultsFile.parse(header + "\n"))
    }

    func testValidatorKeywords() throws {
        let schema = try JSONValue.parse("""
        {"type": "object", "required": ["a"], "additionalProperties": {"type": "integer"},
         "properties": {"a": {"type": ["string", "null"], "pattern": "^x+$"},
                        "b": {"type": "array", "minItems": 2, "items": {"$ref": "#/$defs/pos"}},
                        "c": {"const": 3}, "d": {"enum": ["p", "q"]}},
         "$defs": {"pos": {"type": "number", "exclusiveMinimum": 0}}}
        """)
        let v = try SchemaValidator(schema: schema)
        func ok(_ s: String) throws -> Bool { v.errors(try JSONValue.parse(s)).isEmpty }
        XCTAssertTrue(try ok(#"{"a": "xx", "b": [1, 2.5], "c": 3, "d": "p", "z": 4}"#))
        XCTAssertTrue(try ok(#"{"a": null}"#))
        XCTAssertFalse(try ok(#"{"b": [1, 2]}"#))              // required
        XCTAssertFalse(try ok(#"{"a": "xy"}"#))                // pattern
        XCTAssertFalse(try ok(#"{"a": "x", "b": [1]}"#))       // minItems
        XCTAssertFalse(try ok(#"{"a": "x", "b": [1, 0]}"#))    // exclusiveMinimum via $ref
        XCTAssertFalse(try ok(#"{"a": "x", "c": 4}"#))         // const
        XCTAssertFalse(try ok(#"{"a": "x", "d": "r"}"#))       // enum
        XCTAssertFalse(try ok(#"{"a": "x", "z": 1.5}"#))       // additionalProperties schema
        XCTAssertFalse(try ok(#"{"a": true}"#))                // type (bool is not string)
        XCTAssertFalse(try ok(#"[1]"#))
        // Keywords outside the subset make the schema itself invalid.
        XCTAssertThrowsError(try SchemaValidator(schema: try JSONValue.parse(#"{"oneOf": [{"type": "string"}]}"#)))
        XCTAssertThrowsError(try SchemaValidator(schema: try JSONValue.parse(
            #"{"properties": {"a": {"maxLength": 3}}}"#)))
        // The shipped schemas stay on the subset (checked by construction).
        XCTAssertNoThrow(try manifestValidator())
        XCTAssertNoThrow(try resultsValidator())
    }

    func testIntegersAndBooleansAreDistinct() throws {
        let v = try SchemaValidator(schema: try JSONValue.parse(#"{"type": "integer", "minimum": 0}"#))
        XCTAssertEqual(v.errors(try JSONValue.parse("3")), [])
        XCTAssertEqual(v.errors(try JSONValue.parse("3.0")), [])   // JSON Schema: 3.0 is an integer
        XCTAssertFalse(v.errors(try JSONValue.parse("3.5")).isEmpty)
        XCTAssertFalse(v.errors(try JSONValue.parse("true")).isEmpty)
        XCTAssertFalse(v.errors(try JSONValue.parse("-1")).isEmpty)
        let b = try SchemaValidator(schema: try JSONValue.parse(#"{"type": "boolean"}"#))
        XCTAssertFalse(b.errors(try JSONValue.parse("1")).isEmpty)
        XCTAssertEqual(b.errors(try JSONValue.parse("false")), [])
    }
}
