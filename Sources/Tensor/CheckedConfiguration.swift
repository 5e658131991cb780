/// A configuration struct that checks its own ranges (sizes >= 1, rates > 0, ...). A study file's
/// typed section (`Config.SpecSection`) decoded into one calls `validate()` and names the
/// section's file and line on failure.
public protocol CheckedConfiguration {
    func validate() throws
}
