from rubric_eval.cli import main

main()
