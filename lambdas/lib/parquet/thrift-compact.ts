import { writeVarint, zigzag } from "./varint.js";

/**
 * Parquet's metadata (page headers, the file footer) is Thrift in the compact protocol
 * (https://github.com/apache/thrift/blob/master/doc/specs/thrift-compact-protocol.md). Only what
 * a writer needs is here: structs whose fields are keyed by their Thrift field id.
 *
 * A value's JavaScript type picks its Thrift type: number → i32, bigint → i64, boolean → bool,
 * string (UTF-8) or Uint8Array → binary, array → list, object → struct; undefined is left out.
 * (hyparquet-writer makes the same mapping; its serializer is not exported.)
 */
export type ThriftValue =
  | number
  | bigint
  | boolean
  | string
  | Uint8Array
  | ThriftStruct
  | ThriftValue[];
export interface ThriftStruct {
  [fieldId: number]: ThriftValue | undefined;
}

const BOOLEAN_TRUE = 1;
const BOOLEAN_FALSE = 2;
const BYTE = 3;
const I32 = 5;
const I64 = 6;
const BINARY = 8;
const LIST = 9;
const STRUCT = 12;

export class CompactWriter {
  private bytes = Buffer.allocUnsafe(1024);
  private length = 0;

  /** The bytes written so far (a view, valid until the next write). */
  result(): Buffer {
    return this.bytes.subarray(0, this.length);
  }

  struct(value: ThriftStruct): this {
    let lastId = 0;
    for (const [key, field] of Object.entries(value)) {
      if (field === undefined) continue;
      const id = Number(key);
      const type = typeOf(field);
      const delta = id - lastId;
      const headerType = type === BOOLEAN_TRUE ? (field ? BOOLEAN_TRUE : BOOLEAN_FALSE) : type;
      if (delta > 0 && delta <= 15) {
        this.byte((delta << 4) | headerType);
      } else {
        this.byte(headerType);
        this.varint(zigzag(id));
      }
      lastId = id;
      if (type !== BOOLEAN_TRUE) this.value(type, field);
    }
    this.byte(0); // STOP
    return this;
  }

  private value(type: number, value: ThriftValue): void {
    switch (type) {
      case I32:
        this.varint(zigzag(value as number));
        return;
      case I64:
        this.varint(zigzag(Number(value as bigint)));
        return;
      case BINARY: {
        const bytes =
          typeof value === "string" ? Buffer.from(value, "utf8") : (value as Uint8Array);
        this.varint(bytes.length);
        this.ensure(bytes.length);
        this.bytes.set(bytes, this.length);
        this.length += bytes.length;
        return;
      }
      case LIST: {
        const items = value as ThriftValue[];
        const itemType = items.length === 0 ? BYTE : typeOf(items[0] as ThriftValue);
        if (items.length < 15) {
          this.byte((items.length << 4) | itemType);
        } else {
          this.byte(0xf0 | itemType);
          this.varint(items.length);
        }
        for (const item of items) {
          if (itemType === BOOLEAN_TRUE) this.byte(item ? 1 : 0);
          else this.value(itemType, item);
        }
        return;
      }
      default:
        this.struct(value as ThriftStruct);
    }
  }

  private byte(value: number): void {
    this.ensure(1);
    this.bytes[this.length++] = value;
  }

  private varint(value: number): void {
    this.ensure(10);
    this.length = writeVarint(this.bytes, this.length, value);
  }

  private ensure(more: number): void {
    if (this.length + more <= this.bytes.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.length + more));
    this.bytes.copy(bigger, 0, 0, this.length);
    this.bytes = bigger;
  }
}

function typeOf(value: ThriftValue): number {
  switch (typeof value) {
    case "number":
      return I32;
    case "bigint":
      return I64;
    case "boolean":
      return BOOLEAN_TRUE;
    case "string":
      return BINARY;
    default:
      if (value instanceof Uint8Array) return BINARY;
      return Array.isArray(value) ? LIST : STRUCT;
  }
}

/** Serialises one struct: a page header, or the file's footer. */
export function compactStruct(value: ThriftStruct): Buffer {
  return Buffer.from(new CompactWriter().struct(value).result());
}
