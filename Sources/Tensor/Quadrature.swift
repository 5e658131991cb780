import CGSL

/// One-dimensional adaptive integration with GSL (QAGS on a finite interval, QAGIU/QAGIL/QAGI
/// on infinite ones). Endpoint singularities are handled by QAGS' extrapolation.
public enum Quadrature {
    private final class Box { let f: (Double) -> Double; init(_ f: @escaping (Double) -> Double) { self.f = f } }

    /// GSL aborts the process on a failed integration unless its error handler is off;
    /// we read the status instead.
    private static let handlerOff: Void = { _ = gsl_set_error_handler_off() }()

    /// The integral of `f` over [a, b] (either bound may be infinite) and GSL's error estimate.
    public static func integrateWithError(_ a: Double, _ b: Double, relative: Double = 1e-10, absolute: Double = 0,
                                          _ f: (Double) -> Double) -> (value: Double, error: Double, status: Int32) {
        _ = handlerOff
        return withoutActuallyEscaping(f) { escaping in
            let box = Box(escaping)
            let workspaceSize = 2000
            guard let workspace = gsl_integration_workspace_alloc(workspaceSize) else { fatalError("gsl_integration_workspace_alloc failed") }
            defer { gsl_integration_workspace_free(workspace) }
            return withExtendedLifetime(box) {
                var function = gsl_function(
                    function: { x, params in Unmanaged<Box>.fromOpaque(params!).takeUnretainedValue().f(x) },
                    params: Unmanaged.passUnretained(box).toOpaque())
                var value = 0.0, error = 0.0
                let status: Int32
                switch (a.isInfinite, b.isInfinite) {
                case (false, false): status = gsl_integration_qags(&function, a, b, absolute, relative, workspaceSize, workspace, &value, &error)
                case (false, true): status = gsl_integration_qagiu(&function, a, absolute, relative, workspaceSize, workspace, &value, &error)
                case (true, false): status = gsl_integration_qagil(&function, b, absolute, relative, workspaceSize, workspace, &value, &error)
                case (true, true): status = gsl_integration_qagi(&function, absolute, relative, workspaceSize, workspace, &value, &error)
                }
                return (value, error, status)
            }
        }
    }

    /// The integral of `f` over [a, b] (GSL's best estimate even if the tolerance was not reached).
    public static func integrate(_ a: Double, _ b: Double, relative: Double = 1e-10, absolute: Double = 0,
                                 _ f: (Double) -> Double) -> Double {
        integrateWithError(a, b, relative: relative, absolute: absolute, f).value
    }
}
