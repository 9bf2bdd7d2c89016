// MD5 (RFC 1321), fed in pieces, so a file of any size is hashed in bounded memory.
// The browser has no MD5 of its own (Web Crypto leaves it out), and the files
// API checks a Content-MD5 header against the bytes it receives.

// Per step: each round repeats its four rotations four times.
const SHIFTS = Int32Array.from({ length: 64 }, (_, i) =>
  [[7, 12, 17, 22], [5, 9, 14, 20], [4, 11, 16, 23], [6, 10, 15, 21]][i >> 4][i & 3]);
const CONSTANTS = Int32Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32));

export class Md5 {
  constructor() {
    this.state = Int32Array.of(0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476);
    this.pending = new Uint8Array(64); // bytes waiting for a whole 64-byte block
    this.pendingLength = 0;
    this.length = 0;
    this.words = new Int32Array(16);
  }

  update(bytes) {
    this.length += bytes.length;
    let offset = 0;
    if (this.pendingLength) {
      offset = Math.min(64 - this.pendingLength, bytes.length);
      this.pending.set(bytes.subarray(0, offset), this.pendingLength);
      this.pendingLength += offset;
      if (this.pendingLength < 64) return this;
      this.block(this.pending, 0);
      this.pendingLength = 0;
    }
    for (; offset + 64 <= bytes.length; offset += 64) this.block(bytes, offset);
    this.pending.set(bytes.subarray(offset));
    this.pendingLength = bytes.length - offset;
    return this;
  }

  block(bytes, at) {
    const w = this.words;
    for (let i = 0; i < 16; i += 1) {
      const p = at + i * 4;
      w[i] = bytes[p] | (bytes[p + 1] << 8) | (bytes[p + 2] << 16) | (bytes[p + 3] << 24);
    }
    const st = this.state;
    let a = st[0];
    let b = st[1];
    let c = st[2];
    let d = st[3];
    // Four rounds of sixteen steps; each round mixes with its own function and word order.
    for (let i = 0; i < 64; i += 1) {
      let f;
      let g;
      if (i < 16) {
        f = d ^ (b & (c ^ d));
        g = i;
      } else if (i < 32) {
        f = c ^ (d & (b ^ c));
        g = (5 * i + 1) & 15;
      } else if (i < 48) {
        f = b ^ c ^ d;
        g = (3 * i + 5) & 15;
      } else {
        f = c ^ (b | ~d);
        g = (7 * i) & 15;
      }
      const s = SHIFTS[i];
      const sum = (a + f + CONSTANTS[i] + w[g]) | 0;
      a = d;
      d = c;
      c = b;
      b = (b + ((sum << s) | (sum >>> (32 - s)))) | 0;
    }
    st[0] += a;
    st[1] += b;
    st[2] += c;
    st[3] += d;
  }

  // The 16-byte digest; the hash cannot be fed afterwards.
  digest() {
    const bits = this.length * 8;
    const padding = new Uint8Array((this.pendingLength < 56 ? 64 : 128) - this.pendingLength);
    padding[0] = 0x80;
    const tail = new DataView(padding.buffer, padding.length - 8);
    tail.setUint32(0, bits % 2 ** 32, true); // the length in bits, 64-bit little-endian
    tail.setUint32(4, Math.floor(bits / 2 ** 32), true);
    this.update(padding);
    return new Uint8Array(this.state.buffer.slice(0));
  }

  base64() {
    return btoa(String.fromCharCode(...this.digest()));
  }
}
