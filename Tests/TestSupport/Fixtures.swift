/// Small inputs shared by tests of different modules.
public enum Fixtures {
    /// One u dbar -> ZW -> e- e+ d ubar event in Les Houches format (LHE 3.0), weight 0.25.
    public static let zwLHE = """
    <LesHouchesEvents version="3.0">
    <init>
    2212 2212 6500 6500 0 0 247000 247000 -4 1
    </init>
    <event>
     6 1 +2.5e-01 1.0e+02 7.5e-03 1.1e-01
            2 -1 0 0 501 0 0 0 +3.0e+02 3.0e+02 0 0 9
           -1 -1 0 0 0 501 0 0 -1.0e+02 1.0e+02 0 0 9
           11  1 1 2 0 0 +3.0e+01 +4.0e+01 +0.0e+00 5.0e+01 0 0 9
          -11  1 1 2 0 0 -3.0e+01 -4.0e+01 +1.0e+01 5.1e+01 0 0 9
            1  1 1 2 502 0 +1.0e+01 +0.0e+00 +1.0e+02 1.0e+02 0 0 9
           -2  1 1 2 0 502 -1.0e+01 +0.0e+00 -1.0e+01 1.4e+01 0 0 9
    </event>
    </LesHouchesEvents>
    """
}
