/// Jain's fairness index (Σx)² / (n·Σx²): 1 when all x are equal, 1/n when one has everything.
public func jainIndex(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return 1 }
    var sum = 0.0
    var squares = 0.0
    for value in values {
        sum += value
        squares += value * value
    }
    return squares > 0 ? sum * sum / (Double(values.count) * squares) : 1
}
