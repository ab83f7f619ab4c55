import Testing

@testable import HTTP

@Suite struct MinHeapTests {
    /// Pops in order whatever the push order; `filter` keeps the heap property.
    @Test func popsInOrderAndFiltersInPlace() {
        var heap = MinHeap<Int>()
        var generator = SystemRandomNumberGenerator()
        let values = (0..<500).map { _ in Int.random(in: 0..<10_000, using: &generator) }
        for value in values { heap.push(value) }
        heap.filter { $0 % 3 != 0 }
        var popped: [Int] = []
        while let value = heap.pop() { popped.append(value) }
        #expect(popped == values.filter { $0 % 3 != 0 }.sorted())
        #expect(heap.count == 0)
        #expect(heap.peek == nil)
    }
}
