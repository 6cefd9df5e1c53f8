#!/usr/bin/python3
"""Writes the Swift mirror of .proto files and its protobuf-c marshalling.

Usage (from Scripts/codegen):
  swift_wire_codegen.py DESCRIPTOR_SET OUT_DIR PROTO...

DESCRIPTOR_SET is `protoc --include_imports --include_source_info
--descriptor_set_out` of the protos; for each PROTO (a path as protoc names
it, e.g. adrnorm/v1/normalizer.proto) this writes two files into OUT_DIR,
named after the package's namespace (package adrnorm.v1 -> AdrnormV1):

  AdrnormV1.swift           public enums and structs with memberwise inits
  AdrnormV1+Protobuf.swift  conversion to and from the protoc-c structs,
                            and `WireMessage` for every message a service
                            method takes or returns

Mapping (proto3 only):
  - a message is a struct, Equatable and Sendable; every field is a `var`
    and an init parameter with the proto default (0, "", [], nil, case 0);
  - a singular message field is optional; a map is a Dictionary, encoded in
    key order so that equal values encode to equal bytes;
  - a oneof of one scalar field gives that field presence (an optional); any
    other oneof is a nested enum named after it, one case per field, with the
    oneof's name dropped from the front of the field names;
  - repeated fields may be strings or messages, map values scalars or enums:
    what the protos use so far; anything else stops the generator with an
    error naming the field;
  - an enum is a Swift enum with UInt32 raw values; the common prefix of its
    value names (the enum's name in UPPER_SNAKE) is dropped;
  - names are lowerCamelCase, with the words in INITIALISMS spelled as
    initialisms after the first word (match_label_id -> matchLabelID);
  - decoding validates the UTF-8 of every string and rejects enum values the
    proto does not define, with ServiceError(.invalidArgument) naming the
    field path as in the proto ("pairs[0].pt_code: not valid UTF-8");
  - comments on messages, fields, enums and values become doc comments.

The generated marshalling uses the helpers of Sources/Wire/WireMessage.swift
and ProtobufArena.swift, and protoc-c's names for the C structs and functions.
"""

import os
import sys

from google.protobuf import descriptor_pb2

FD = descriptor_pb2.FieldDescriptorProto

# Words spelled as initialisms when they are not the first word of a name.
INITIALISMS = {"id": "ID", "llt": "LLT", "sha256": "SHA256", "url": "URL"}

# Proto types of files not generated here that have a hand-written Swift
# type: Swift type, default value, decoding expression ({raw}: the C value's
# rawValue) and C type. A wire status code from a newer peer reads as UNKNOWN
# rather than being rejected, as gRPC does (StatusCode.init(wireValue:)).
MAPPED_ENUMS = {
    ".adrnorm.wire.v1.Code": ("StatusCode", ".ok", "StatusCode(wireValue: {raw})"),
}

SWIFT_KEYWORDS = {
    "associatedtype", "class", "deinit", "enum", "extension", "fileprivate", "func", "import", "init",
    "inout", "internal", "let", "open", "operator", "private", "precedencegroup", "protocol", "public",
    "rethrows", "static", "struct", "subscript", "typealias", "var", "break", "case", "catch", "continue",
    "default", "defer", "do", "else", "fallthrough", "for", "guard", "if", "in", "repeat", "return",
    "throw", "switch", "where", "while", "Any", "as", "await", "false", "is", "nil", "self", "Self",
    "super", "throws", "true", "try", "Type",
}

# protoc-c 1.4 appends "_" to field names that are C or C++ keywords.
C_KEYWORDS = {
    "and", "and_eq", "asm", "auto", "bitand", "bitor", "bool", "break", "case", "catch", "char", "class",
    "compl", "const", "const_cast", "continue", "default", "delete", "do", "double", "dynamic_cast",
    "else", "enum", "explicit", "extern", "false", "float", "for", "friend", "goto", "if", "inline",
    "int", "long", "mutable", "namespace", "new", "not", "not_eq", "operator", "or", "or_eq", "private",
    "protected", "public", "register", "reinterpret_cast", "return", "short", "signed", "sizeof",
    "static", "static_cast", "struct", "switch", "template", "this", "throw", "true", "try", "typedef",
    "typeid", "typename", "union", "unsigned", "using", "virtual", "void", "volatile", "wchar_t",
    "while", "xor", "xor_eq",
}

SCALARS = {  # proto type -> (Swift type, default)
    FD.TYPE_DOUBLE: ("Double", "0"), FD.TYPE_FLOAT: ("Float", "0"),
    FD.TYPE_INT64: ("Int64", "0"), FD.TYPE_SINT64: ("Int64", "0"), FD.TYPE_SFIXED64: ("Int64", "0"),
    FD.TYPE_UINT64: ("UInt64", "0"), FD.TYPE_FIXED64: ("UInt64", "0"),
    FD.TYPE_INT32: ("Int32", "0"), FD.TYPE_SINT32: ("Int32", "0"), FD.TYPE_SFIXED32: ("Int32", "0"),
    FD.TYPE_UINT32: ("UInt32", "0"), FD.TYPE_FIXED32: ("UInt32", "0"),
    FD.TYPE_BOOL: ("Bool", "false"), FD.TYPE_STRING: ("String", '""'), FD.TYPE_BYTES: ("[UInt8]", "[]"),
}
NUMERIC = {t for t in SCALARS if t not in (FD.TYPE_BOOL, FD.TYPE_STRING, FD.TYPE_BYTES)}


class GeneratorError(Exception):
    pass


# ---- names ----

def camel_words(words, upper_first):
    out = []
    for i, word in enumerate(w for w in words if w):
        word = word.lower()
        if i == 0 and not upper_first:
            out.append(word)
        else:
            out.append(INITIALISMS.get(word, word[0].upper() + word[1:]))
    return "".join(out)


def lower_camel(snake):
    return camel_words(snake.split("_"), upper_first=False)


def upper_camel(snake):
    return camel_words(snake.split("_"), upper_first=True)


def escaped(name):
    return f"`{name}`" if name in SWIFT_KEYWORDS else name


def camel_to_upper_snake(name):
    """protoc-c's CamelToUpper: "_" before an upper-case letter that follows a lower-case one."""
    out, was_upper = [], True
    for ch in name:
        is_upper = ch.isupper()
        if is_upper and not was_upper:
            out.append("_")
        out.append(ch.upper())
        was_upper = is_upper
    return "".join(out)


def c_struct_name(full_name):
    """protoc-c's FullNameToC: adrnorm.v1.ModelInfo -> Adrnorm__V1__ModelInfo."""
    def to_camel(piece):
        return "".join(p[:1].upper() + p[1:] for p in piece.split("_"))
    return "__".join(to_camel(p) for p in full_name.split(".") if p)


def c_upper_name(full_name):
    return "__".join(camel_to_upper_snake(p) for p in full_name.split(".") if p)


def c_lower_name(full_name):
    return c_upper_name(full_name).lower()


def c_field_name(field):
    name = field.name.lower()
    return name + "_" if name in C_KEYWORDS else name


# ---- comments ----

class Comments:
    def __init__(self, file_proto):
        self.by_path = {}
        for loc in file_proto.source_code_info.location:
            text = loc.leading_comments or loc.trailing_comments
            if text.strip():
                self.by_path[tuple(loc.path)] = text
        self.header = ""
        for loc in file_proto.source_code_info.location:
            if tuple(loc.path) == (12,):  # the comment above the syntax statement
                self.header = loc.leading_comments or "".join(loc.leading_detached_comments[:1])

    def doc(self, path, indent):
        return doc_lines(self.by_path.get(tuple(path), ""), indent)


def doc_lines(text, indent):
    lines = text.strip("\n").split("\n")
    # Drop the single space protoc keeps after "//".
    lines = [line[1:] if line.startswith(" ") else line for line in lines]
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        return []
    return [f"{indent}///{' ' + line.rstrip() if line.strip() else ''}" for line in lines]


# ---- the model ----

class Enum:
    def __init__(self, proto, swift_name, full_name, path):
        self.proto, self.swift_name, self.full_name, self.path = proto, swift_name, full_name, path
        prefix = camel_to_upper_snake(proto.name) + "_"
        names = [v.name for v in proto.value]
        strip = all(n.startswith(prefix) and len(n) > len(prefix) for n in names)
        self.cases = []
        for i, value in enumerate(proto.value):
            if value.number < 0:
                raise GeneratorError(f"{full_name}.{value.name}: negative enum values are not supported")
            name = value.name[len(prefix):] if strip else value.name
            self.cases.append((escaped(lower_camel(name)), value.number, path + [2, i]))
        zero = [c for c in self.cases if c[1] == 0]
        if not zero:
            raise GeneratorError(f"{full_name}: a proto3 enum needs a value 0")
        self.default = "." + zero[0][0]


class Generator:
    def __init__(self, descriptor_set):
        self.files = {f.name: f for f in descriptor_set.file}
        self.messages = {}   # full name -> (DescriptorProto, Swift name, file)
        self.enums = {}      # full name -> Enum
        for f in descriptor_set.file:
            namespace = self.namespace(f)
            for i, m in enumerate(f.message_type):
                self.index_message(f, m, f".{f.package}.{m.name}", f"{namespace}.{m.name}", [4, i])
            for i, e in enumerate(f.enum_type):
                full = f".{f.package}.{e.name}"
                self.enums[full] = Enum(e, f"{namespace}.{e.name}", full, [5, i])

    @staticmethod
    def namespace(file_proto):
        if not file_proto.package:
            raise GeneratorError(f"{file_proto.name}: a package is needed to name the Swift namespace")
        return "".join(p[:1].upper() + p[1:] for p in file_proto.package.split("."))

    def index_message(self, f, m, full, swift, path):
        self.messages[full] = (m, swift, f)
        for i, nested in enumerate(m.nested_type):
            self.index_message(f, nested, f"{full}.{nested.name}", f"{swift}.{nested.name}", path + [3, i])
        for i, e in enumerate(m.enum_type):
            self.enums[f"{full}.{e.name}"] = Enum(e, f"{swift}.{e.name}", f"{full}.{e.name}", path + [4, i])

    # ---- field classification ----

    def map_entry(self, field):
        if field.type != FD.TYPE_MESSAGE:
            return None
        entry = self.messages[field.type_name][0]
        return entry if entry.options.map_entry else None

    def value_type(self, field):
        """Swift type and default of one value of the field (an element if repeated)."""
        if field.type in SCALARS:
            return SCALARS[field.type]
        if field.type == FD.TYPE_ENUM:
            if field.type_name in MAPPED_ENUMS:
                swift, default, _ = MAPPED_ENUMS[field.type_name]
                return swift, default
            if field.type_name not in self.enums:
                raise GeneratorError(f"{field.name}: unknown enum {field.type_name}")
            e = self.enums[field.type_name]
            return e.swift_name, e.default
        if field.type == FD.TYPE_MESSAGE:
            return self.messages[field.type_name][1], "nil"
        raise GeneratorError(f"{field.name}: field type {field.type} is not supported (proto3 only)")

    def members(self, message):
        """The struct's stored properties, in field order; a oneof sits where its first field is."""
        members, seen_oneofs = [], set()
        for i, field in enumerate(message.field):
            if field.label == FD.LABEL_REQUIRED or field.type == FD.TYPE_GROUP:
                raise GeneratorError(f"{message.name}.{field.name}: proto2 features are not supported")
            if field.HasField("oneof_index"):
                index = field.oneof_index
                if index in seen_oneofs:
                    continue
                seen_oneofs.add(index)
                fields = [(j, f) for j, f in enumerate(message.field)
                          if f.HasField("oneof_index") and f.oneof_index == index]
                if len(fields) == 1 and fields[0][1].type != FD.TYPE_MESSAGE:
                    members.append(("presence", fields[0][1], i, index))
                else:
                    members.append(("oneof", fields, i, index))
            elif self.map_entry(field) is not None:
                members.append(("map", field, i, None))
            elif field.label == FD.LABEL_REPEATED:
                if field.type not in (FD.TYPE_STRING, FD.TYPE_MESSAGE):
                    raise GeneratorError(f"{message.name}.{field.name}: repeated {FD.Type.Name(field.type)} "
                                         "is not supported yet")
                members.append(("repeated", field, i, None))
            else:
                members.append(("single", field, i, None))
        return members

    def member_decl(self, message, member):
        """(property name, Swift type, default) of a member."""
        kind, field = member[0], member[1]
        if kind == "oneof":
            oneof = message.oneof_decl[member[3]]
            return lower_camel(oneof.name), upper_camel(oneof.name) + "?", "nil"
        name = escaped(lower_camel(field.name))
        if kind == "map":
            entry = self.map_entry(field)
            key = self.value_type(entry.field[0])[0]
            value = self.value_type(entry.field[1])[0]
            return name, f"[{key}: {value}]", "[:]"
        swift, default = self.value_type(field)
        if kind == "repeated":
            return name, f"[{swift}]", "[]"
        if kind == "presence" or field.type == FD.TYPE_MESSAGE:
            return name, swift + "?", "nil"
        return name, swift, default

    def oneof_case(self, oneof_name, field):
        name = field.name
        if name.startswith(oneof_name + "_") and len(name) > len(oneof_name) + 1:
            name = name[len(oneof_name) + 1:]
        return escaped(lower_camel(name))

    # ---- the mirror ----

    def mirror(self, f, comments):
        namespace = self.namespace(f)
        out = [header(f.name), ""]
        out += [f"/// The messages and enums of `{f.name}` (package `{f.package}`) as Swift",
                f"/// values. `{namespace}+Protobuf.swift` converts them to and from protobuf through",
                "/// protobuf-c inside this module; decoding rejects invalid UTF-8 and unknown enum",
                "/// values with `INVALID_ARGUMENT` naming the field."]
        if comments.header:
            out.append("///")
            out += doc_lines(comments.header, "")
        out.append(f"public enum {namespace} {{")
        body = []
        for i, e in enumerate(f.enum_type):
            body.append(self.enum_decl(self.enums[f".{f.package}.{e.name}"], comments, "    "))
        for i, m in enumerate(f.message_type):
            body.append(self.struct_decl(m, f".{f.package}.{m.name}", [4, i], comments, "    "))
        out.append("\n\n".join(body))
        out.append("}")
        return "\n".join(out) + "\n"

    def enum_decl(self, e, comments, indent):
        out = comments.doc(e.path, indent)
        out.append(f"{indent}public enum {e.proto.name}: UInt32, Sendable, CaseIterable {{")
        for name, number, path in e.cases:
            out += comments.doc(path, indent + "    ")
            out.append(f"{indent}    case {name} = {number}")
        out.append(f"{indent}}}")
        return "\n".join(out)

    def struct_decl(self, m, full, path, comments, indent):
        inner = indent + "    "
        out = comments.doc(path, indent)
        out.append(f"{indent}public struct {m.name}: Equatable, Sendable {{")
        nested = []
        for i, e in enumerate(m.enum_type):
            nested.append(self.enum_decl(self.enums[f"{full}.{e.name}"], comments, inner))
        for i, n in enumerate(m.nested_type):
            if not n.options.map_entry:
                nested.append(self.struct_decl(n, f"{full}.{n.name}", path + [3, i], comments, inner))
        members = self.members(m)
        for member in members:
            if member[0] == "oneof":
                oneof = m.oneof_decl[member[3]]
                lines = comments.doc(path + [8, member[3]], inner)
                lines.append(f"{inner}public enum {upper_camel(oneof.name)}: Equatable, Sendable {{")
                for j, field in member[1]:
                    lines += comments.doc(path + [2, j], inner + "    ")
                    lines.append(f"{inner}    case {self.oneof_case(oneof.name, field)}"
                                 f"({self.value_type(field)[0]})")
                lines.append(f"{inner}}}")
                nested.append("\n".join(lines))
        if nested:
            out.append("\n\n".join(nested))
            out.append("")
        params = []
        for member in members:
            name, swift, default = self.member_decl(m, member)
            if member[0] == "oneof":
                out += comments.doc(path + [8, member[3]], inner)
            elif member[0] == "presence":
                doc = comments.doc(path + [2, member[2]], inner) or comments.doc(path + [8, member[3]], inner)
                out += doc
            else:
                out += comments.doc(path + [2, member[2]], inner)
            out.append(f"{inner}public var {name}: {swift}")
            params.append((name, swift, default))
        if members:
            out.append("")
        if params:
            out.append(f"{inner}public init(")
            out.append(",\n".join(f"{inner}    {n.strip('`')}: {t} = {d}" for n, t, d in params))
            out.append(f"{inner}) {{")
            for n, _, _ in params:
                out.append(f"{inner}    self.{n} = {n}")
            out.append(f"{inner}}}")
        else:
            out.append(f"{inner}public init() {{}}")
        out.append(f"{indent}}}")
        return "\n".join(out)

    # ---- the marshalling ----

    def service_messages(self, f):
        names = []
        for service in f.service:
            for method in service.method:
                for t in (method.input_type, method.output_type):
                    if t not in names:
                        names.append(t)
        return names

    def marshalling(self, f):
        namespace = self.namespace(f)
        out = [header(f.name), "", "internal import AdrnormProto", "internal import CProtobufC", ""]
        out += [f"// The conversions are internal: they name protoc-c's C structs, which never leave",
                f"// this module. `path` is the field path of the message inside the decoded payload",
                f"// (empty at the top), for error messages.", ""]
        for full, (m, swift, mf) in self.messages.items():
            if mf.name != f.name or m.options.map_entry:
                continue
            out.append(self.conversions(m, full, swift))
            out.append("")
        for full in self.service_messages(f):
            m, swift, mf = self.messages[full]
            if mf.name != f.name:
                continue
            c_type, c_fn = c_struct_name(full), c_lower_name(full)
            out += [f"extension {swift}: WireMessage {{",
                    "    public init(serializedBytes bytes: [UInt8]) throws(ServiceError) {",
                    f'        self = try unpackMessage(bytes, "{m.name}",',
                    f"                                 {c_fn}__unpack,",
                    f"                                 {c_fn}__free_unpacked) {{",
                    f"            (c: {c_type}) throws(ServiceError) in",
                    f'            try {swift}(protobufC: c, path: "")',
                    "        }",
                    "    }",
                    "",
                    "    public func serializedBytes() -> [UInt8] {",
                    "        let arena = ProtobufArena()",
                    "        return packMessage(protobufC(arena))",
                    "    }",
                    "}",
                    ""]
        return "\n".join(out).rstrip("\n") + "\n"

    def conversions(self, m, full, swift):
        c_type, c_fn = c_struct_name(full), c_lower_name(full)
        members = self.members(m)
        dec, enc = [], []
        for member in members:
            dec += self.decode_member(m, full, swift, member)
            enc += self.encode_member(m, full, swift, member)
        out = [f"extension {swift} {{"]
        c_param = "c" if dec else "_"
        out.append(f"    init(protobufC {c_param}: {c_type}, path: String) throws(ServiceError) {{")
        out.append("        self.init()")
        out += ["        " + line for line in dec]
        out.append("    }")
        out.append("")
        out.append(f"    func protobufC(_ arena: ProtobufArena) -> UnsafeMutablePointer<{c_type}> {{")
        out.append(f"        let m: UnsafeMutablePointer<{c_type}> = arena.message({c_fn}__init)")
        out += ["        " + line for line in enc]
        out.append("        return m")
        out.append("    }")
        out.append("}")
        return "\n".join(out)

    def decode_value(self, field, c_value, path_expr):
        """Swift expression for one value of `field` read from C expression `c_value`."""
        t = field.type
        if t == FD.TYPE_STRING:
            return f"try decodeText({c_value}, {path_expr})"
        if t == FD.TYPE_BYTES:
            return f"[UInt8](protobufC: {c_value})"
        if t == FD.TYPE_BOOL:
            return f"{c_value} != 0"
        if t in NUMERIC:
            return c_value
        if t == FD.TYPE_ENUM:
            if field.type_name in MAPPED_ENUMS:
                return MAPPED_ENUMS[field.type_name][2].format(raw=f"{c_value}.rawValue")
            return f"try decodeEnum({c_value}.rawValue, {path_expr})"
        raise GeneratorError(f"{field.name}: cannot decode type {t}")

    def encode_value(self, field, value):
        t = field.type
        if t == FD.TYPE_STRING:
            return f"arena.string({value})"
        if t == FD.TYPE_BYTES:
            return f"arena.bytes({value})"
        if t == FD.TYPE_BOOL:
            return f"{value} ? 1 : 0"
        if t in NUMERIC:
            return value
        if t == FD.TYPE_ENUM:
            return f"{c_struct_name(field.type_name)}(rawValue: {value}.rawValue)"
        if t == FD.TYPE_MESSAGE:
            return f"{value}.protobufC(arena)"
        raise GeneratorError(f"{field.name}: cannot encode type {t}")

    def oneof_const(self, full, oneof, field):
        return f"{c_upper_name(full)}__{oneof.name.upper()}_{field.name.upper()}"

    def decode_member(self, m, full, swift, member):
        """Statements that set one member from the C struct `c` (properties always through self.)."""
        kind = member[0]
        name = self.member_decl(m, member)[0]
        if kind == "oneof":
            oneof = m.oneof_decl[member[3]]
            enum = f"{swift}.{upper_camel(oneof.name)}"
            lines = [f"switch c.{oneof.name}_case {{"]
            for _, field in member[1]:
                path = f'fieldPath(path, "{field.name}")'
                case = self.oneof_case(oneof.name, field)
                lines.append(f"case {self.oneof_const(full, oneof, field)}:")
                if field.type == FD.TYPE_MESSAGE:
                    lines += ["    " + line for line in
                              self.decode_message_value(field, f"c.{c_field_name(field)}", path,
                                                        f"self.{name}", f".map {{ {enum}.{case}($0) }}")]
                else:
                    value = self.decode_value(field, f"c.{c_field_name(field)}", path)
                    lines.append(f"    self.{name} = .{case}({value})")
            lines += ["default:", f"    self.{name} = nil", "}"]
            return lines
        field = member[1]
        cf = c_field_name(field)
        path = f'fieldPath(path, "{field.name}")'
        if kind == "presence":
            oneof = m.oneof_decl[member[3]]
            value = self.decode_value(field, f"c.{cf}", path)
            return [f"if c.{oneof.name}_case == {self.oneof_const(full, oneof, field)} {{",
                    f"    self.{name} = {value}",
                    "}"]
        if kind == "map":
            entry = self.map_entry(field)
            key = self.decode_value(entry.field[0], "e.key", '"\\(f).key"')
            if entry.field[1].type == FD.TYPE_MESSAGE:
                raise GeneratorError(f"{m.name}.{field.name}: maps of messages are not supported yet")
            value = self.decode_value(entry.field[1], "e.value", '"\\(f).value"')
            return [f"self.{name} = try decodeMap(c.n_{cf}, c.{cf}, {path}) {{ (e, f) throws(ServiceError) in",
                    f"    ({key}, {value})",
                    "}"]
        if kind == "repeated":
            if field.type == FD.TYPE_STRING:
                return [f"self.{name} = try decodeTexts(c.n_{cf}, c.{cf}, {path})"]
            elem = self.messages[field.type_name][1]
            return [f"self.{name} = try decodeMessages(c.n_{cf}, c.{cf}, {path}) {{ (e, f) throws(ServiceError) in",
                    f"    try {elem}(protobufC: e, path: f)",
                    "}"]
        if field.type == FD.TYPE_MESSAGE:
            return self.decode_message_value(field, f"c.{cf}", path, f"self.{name}", "")
        return [f"self.{name} = {self.decode_value(field, f'c.{cf}', path)}"]

    def decode_message_value(self, field, c_pointer, path_expr, target, suffix):
        elem = self.messages[field.type_name][1]
        return [f"{target} = try decodeMessage({c_pointer}, {path_expr}) {{ (e, f) throws(ServiceError) in",
                f"    try {elem}(protobufC: e, path: f)",
                f"}}{suffix}"]

    def encode_member(self, m, full, swift, member):
        """Statements that set the C struct `m` from one member."""
        kind = member[0]
        name = self.member_decl(m, member)[0]
        if kind == "oneof":
            oneof = m.oneof_decl[member[3]]
            lines = [f"switch self.{name} {{"]
            for _, field in member[1]:
                lines += [f"case .{self.oneof_case(oneof.name, field)}(let value):",
                          f"    m.pointee.{oneof.name}_case = {self.oneof_const(full, oneof, field)}",
                          f"    m.pointee.{c_field_name(field)} = {self.encode_value(field, 'value')}"]
            lines += ["case nil:", "    break", "}"]
            return lines
        field = member[1]
        cf = c_field_name(field)
        if kind == "presence":
            oneof = m.oneof_decl[member[3]]
            return [f"if let value = self.{name} {{",
                    f"    m.pointee.{oneof.name}_case = {self.oneof_const(full, oneof, field)}",
                    f"    m.pointee.{cf} = {self.encode_value(field, 'value')}",
                    "}"]
        if kind == "map":
            entry = self.map_entry(field)
            entry_c, entry_fn = c_struct_name(field.type_name), c_lower_name(field.type_name)
            # Sorted so that equal values encode to equal bytes.
            return [f"let {cf}Entries = self.{name}.sorted {{ $0.key < $1.key }}.map {{ entry in",
                    f"    let e: UnsafeMutablePointer<{entry_c}> =",
                    f"        arena.message({entry_fn}__init)",
                    f"    e.pointee.key = {self.encode_value(entry.field[0], 'entry.key')}",
                    f"    e.pointee.value = {self.encode_value(entry.field[1], 'entry.value')}",
                    "    return e",
                    "}",
                    f"m.pointee.n_{cf} = {cf}Entries.count",
                    f"m.pointee.{cf} = arena.pointerArray({cf}Entries)"]
        if kind == "repeated":
            if field.type == FD.TYPE_STRING:
                value = f"arena.strings(self.{name})"
            else:
                value = f"arena.pointerArray(self.{name}.map {{ $0.protobufC(arena) }})"
            return [f"m.pointee.n_{cf} = self.{name}.count", f"m.pointee.{cf} = {value}"]
        if field.type == FD.TYPE_MESSAGE:
            return [f"m.pointee.{cf} = self.{name}?.protobufC(arena)"]
        return [f"m.pointee.{cf} = {self.encode_value(field, f'self.{name}')}"]


def header(proto):
    return (f"// generated by Scripts/codegen from Protos/{proto}; do not edit.\n"
            f"// Edit the .proto (or Scripts/lib/swift_wire_codegen.py) and run Scripts/codegen.")


def main(argv):
    if len(argv) < 4:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    descriptor_path, out_dir, protos = argv[1], argv[2], argv[3:]
    descriptor_set = descriptor_pb2.FileDescriptorSet()
    with open(descriptor_path, "rb") as fh:
        descriptor_set.ParseFromString(fh.read())
    try:
        generator = Generator(descriptor_set)
        os.makedirs(out_dir, exist_ok=True)
        for proto in protos:
            if proto not in generator.files:
                raise GeneratorError(f"{proto} is not in the descriptor set")
            f = generator.files[proto]
            if f.syntax != "proto3":
                raise GeneratorError(f"{proto}: only proto3 is supported")
            namespace = generator.namespace(f)
            outputs = {f"{namespace}.swift": generator.mirror(f, Comments(f)),
                       f"{namespace}+Protobuf.swift": generator.marshalling(f)}
            for name, text in outputs.items():
                with open(os.path.join(out_dir, name), "w", encoding="utf-8") as fh:
                    fh.write(text)
    except GeneratorError as error:
        print(f"swift_wire_codegen: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
