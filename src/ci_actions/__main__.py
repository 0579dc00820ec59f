from ci_actions.cli import main

raise SystemExit(main())
