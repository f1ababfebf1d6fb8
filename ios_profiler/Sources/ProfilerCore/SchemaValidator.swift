import Foundation

/// A parsed JSON value. Numbers are kept as Double (integers are whole Doubles).
public indirect enum JSONValue: Codable, Equatable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null; return }
        if let b = try? c.decode(Bool.self) { self = .bool(b); return }
        if let d = try? c.decode(Double.self) { self = .number(d); return }
        if let s = try? c.decode(String.self) { self = .string(s); return }
        if let a = try? c.decode([JSONValue].self) { self = .array(a); return }
        if let o = try? c.decode([String: JSONValue].self) { self = .object(o); return }
        throw DecodingError.dataCorruptedError(in: c, debugDescription: "not a JSON value")
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case let .bool(b): try c.encode(b)
        case let .number(d): try c.encode(d)
        case let .string(s): try c.encode(s)
        case let .array(a): try c.encode(a)
        case let .object(o): try c.encode(o)
        }
    }

    public static func parse(_ data: Data) throws -> JSONValue {
        do {
            return try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw ProfilerError.invalid("invalid JSON: \(describeDecodingError(error))")
        }
    }

    public static func parse(_ text: String) throws -> JSONValue { try parse(Data(text.utf8)) }

    public subscript(key: String) -> JSONValue? {
        if case let .object(o) = self { return o[key] }
        return nil
    }

    var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case let .number(d): return d.rounded() == d && abs(d) < 9.007e15 ? "integer" : "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }
}

/// A validator for the JSON Schema subset used by the nas profiling contract:
/// type (a name or a list of names), required, properties, additionalProperties (bool or schema),
/// enum, items (one schema), minimum, exclusiveMinimum, minItems, pattern (unanchored regex
/// search, as in JSON Schema), const, and $ref of the form "#/$defs/NAME".
/// Annotation keywords ($schema, $id, $defs, $comment, title, description) are ignored.
/// Any other keyword makes the *schema* invalid, so both implementations stay on the subset.
public struct SchemaValidator {
    public static let keywords: Set<String> = [
        "type", "required", "properties", "additionalProperties", "enum", "items", "minimum",
        "exclusiveMinimum", "minItems", "pattern", "const", "$ref",
    ]
    public static let annotations: Set<String> = ["$schema", "$id", "$defs", "$comment", "title", "description"]

    public let root: JSONValue

    public init(schema: JSONValue) throws {
        root = schema
        try Self.checkSubset(schema, path: "#")
    }

    public init(schemaURL: URL) throws {
        guard let data = FileManager.default.contents(atPath: schemaURL.path) else {
            throw ProfilerError.io("cannot read schema \(schemaURL.path)")
        }
        try self.init(schema: try JSONValue.parse(data))
    }

    static func checkSubset(_ schema: JSONValue, path: String) throws {
        guard case let .object(o) = schema else {
            if case .bool = schema { return }
            throw ProfilerError.invalid("schema at \(path) is not an object")
        }
        for (k, v) in o {
            if annotations.contains(k) {
                if k == "$defs", case let .object(defs) = v {
                    for (name, d) in defs { try checkSubset(d, path: "\(path)/$defs/\(name)") }
                }
                continue
            }
            guard keywords.contains(k) else {
                throw ProfilerError.invalid("schema at \(path) uses keyword '\(k)' outside the supported subset")
            }
            switch k {
            case "properties":
                if case let .object(props) = v {
                    for (name, p) in props { try checkSubset(p, path: "\(path)/properties/\(name)") }
                }
            case "items", "additionalProperties":
                try checkSubset(v, path: "\(path)/\(k)")
            default: break
            }
        }
    }

    /// Validates `instance` against the root schema (or against `$defs/<def>` when given).
    /// Returns a list of errors, each "path: message"; empty means valid.
    public func errors(_ instance: JSONValue, def: String? = nil) -> [String] {
        var out: [String] = []
        if let def {
            validate(instance, against: .object(["$ref": .string("#/$defs/\(def)")]), path: "$", into: &out)
        } else {
            validate(instance, against: root, path: "$", into: &out)
        }
        return out
    }

    public func validate(_ instance: JSONValue, def: String? = nil) throws {
        let e = errors(instance, def: def)
        if !e.isEmpty { throw ProfilerError.invalid(e.joined(separator: "; ")) }
    }

    func resolve(_ ref: String) -> JSONValue? {
        let prefix = "#/$defs/"
        guard ref.hasPrefix(prefix) else { return nil }
        return root["$defs"]?[String(ref.dropFirst(prefix.count))]
    }

    static func typeMatches(_ value: JSONValue, _ name: String) -> Bool {
        let t = value.typeName
        switch name {
        case "number": return t == "number" || t == "integer"
        default: return t == name
        }
    }

    func validate(_ v: JSONValue, against schema: JSONValue, path: String, into out: inout [String]) {
        if case let .bool(b) = schema {
            if !b { out.append("\(path): not allowed") }
            return
        }
        guard case let .object(s) = schema else { return }

        if case let .string(ref)? = s["$ref"] {
            guard let target = resolve(ref) else {
                out.append("\(path): unresolvable $ref \(ref)")
                return
            }
            validate(v, against: target, path: path, into: &out)
        }
        if let t = s["type"] {
            var names: [String] = []
            if case let .string(n) = t { names = [n] }
            if case let .array(a) = t { names = a.compactMap { if case let .string(n) = $0 { return n } else { return nil } } }
            if !names.contains(where: { Self.typeMatches(v, $0) }) {
                out.append("\(path): expected type \(names.joined(separator: "|")), found \(v.typeName)")
                return
            }
        }
        if let c = s["const"], c != v {
            out.append("\(path): must equal \(Self.render(c)), found \(Self.render(v))")
        }
        if case let .array(options)? = s["enum"], !options.contains(v) {
            out.append("\(path): \(Self.render(v)) is not one of \(options.map(Self.render).joined(separator: ", "))")
        }
        if case let .number(x) = v {
            if case let .number(m)? = s["minimum"], x < m { out.append("\(path): \(x) is below minimum \(m)") }
            if case let .number(m)? = s["exclusiveMinimum"], x <= m {
                out.append("\(path): \(x) must be greater than \(m)")
            }
        }
        if case let .string(str) = v, case let .string(pattern)? = s["pattern"] {
            if let re = try? NSRegularExpression(pattern: pattern) {
                let range = NSRange(str.startIndex..<str.endIndex, in: str)
                if re.firstMatch(in: str, range: range) == nil {
                    out.append("\(path): '\(str)' does not match pattern \(pattern)")
                }
            } else {
                out.append("\(path): bad pattern \(pattern) in schema")
            }
        }
        if case let .array(items) = v {
            if case let .number(m)? = s["minItems"], Double(items.count) < m {
                out.append("\(path): needs at least \(Int(m)) items, found \(items.count)")
            }
            if let itemSchema = s["items"] {
                for (i, item) in items.enumerated() { validate(item, against: itemSchema, path: "\(path)[\(i)]", into: &out) }
            }
        }
        if case let .object(obj) = v {
            if case let .array(req)? = s["required"] {
                for case let .string(name) in req where obj[name] == nil {
                    out.append("\(path): missing required field '\(name)'")
                }
            }
            var props: [String: JSONValue] = [:]
            if case let .object(p)? = s["properties"] { props = p }
            for key in obj.keys.sorted() {
                let child = obj[key]!
                if let ps = props[key] {
                    validate(child, against: ps, path: "\(path).\(key)", into: &out)
                } else if let ap = s["additionalProperties"] {
                    if case .bool(false) = ap {
                        out.append("\(path): unexpected field '\(key)'")
                    } else {
                        validate(child, against: ap, path: "\(path).\(key)", into: &out)
                    }
                }
            }
        }
    }

    static func render(_ v: JSONValue) -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        if let d = try? enc.encode(v) { return String(decoding: d, as: UTF8.self) }
        return "?"
    }
}

/// The contract's convention for results files: each line is validated against
/// `$defs/<kind>` of results.schema.json, where kind is the line's "kind" field.
public extension SchemaValidator {
    func validateResultsLine(_ line: JSONValue) throws {
        guard case let .string(kind)? = line["kind"] else {
            throw ProfilerError.invalid("$: missing string field 'kind'")
        }
        guard root["$defs"]?[kind] != nil else {
            throw ProfilerError.invalid("$.kind: unknown line kind '\(kind)'")
        }
        try validate(line, def: kind)
    }
}
