/** Round half to even: Python's round(), which torchvision's transforms use, and ONNX QuantizeLinear's rounding. */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}
