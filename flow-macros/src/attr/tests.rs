use super::*;

fn step_args(attr: Attribute) -> (StepArgs, Vec<String>) {
    let ctxt = Ctxt::new();
    let args = StepArgs::parse(&attr, &ctxt);
    let errors = match ctxt.check() {
        Ok(()) => Vec::new(),
        Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
    };
    (args, errors)
}

#[test]
fn every_option_parses() {
    let (args, errors) = step_args(syn::parse_quote! {
        #[step(next = [a, b], retry(times = 3, backoff = "2s"), timeout = "10m", catch,
               resources(cpu = 2, memory = 4096, gpu = 1),
               batch(image = "img", queue = "q", job_role = "r"))]
    });
    assert!(errors.is_empty(), "{errors:?}");
    let Some(Given {
        value: Next::Split(targets),
        ..
    }) = &args.next
    else {
        panic!("`next = [a, b]` is a split");
    };
    assert_eq!(targets.len(), 2);
    assert_eq!(args.retry_times.unwrap().base10_digits(), "3");
    assert_eq!(args.retry_backoff.unwrap().value(), "2s");
    assert_eq!(args.timeout.unwrap().value(), "10m");
    assert_eq!(args.catch, Some(true));
    assert_eq!(args.memory.unwrap().base10_digits(), "4096");
    assert_eq!(args.job_role.unwrap().value(), "r");
    assert!(!args.transition_unknown);
}

#[test]
fn every_bad_option_is_reported_and_parsing_goes_on() {
    let (args, errors) = step_args(syn::parse_quote! {
        #[step(retyr = 3, timeout = 10, timeout = "1m", catch = "yes",
               resources(cpu = 2, cpus = 3, cpu = 4), batch = "img", next = end)]
    });
    assert_eq!(errors.len(), 7, "{errors:?}");
    assert!(errors[0].starts_with("unknown step option `retyr`; did you mean `retry`?"));
    assert!(errors[1].starts_with("step option `timeout` takes a duration string"));
    assert_eq!(errors[2], "step option `timeout` is given twice; keep one");
    assert!(errors[3].starts_with("step option `catch` takes no value"));
    assert!(errors[4].starts_with("unknown option `cpus` in `resources(...)`"));
    assert_eq!(
        errors[5],
        "option `cpu` in `resources(...)` is given twice; keep one"
    );
    assert!(errors[6].starts_with("step option `batch` takes a list"));
    // The options after the bad ones are still read, and the transition is known.
    assert!(matches!(
        args.next,
        Some(Given {
            value: Next::Step(_),
            ..
        })
    ));
    assert_eq!(args.cpu.unwrap().base10_digits(), "2");
    assert!(!args.transition_unknown);
}

#[test]
fn an_unknown_option_without_a_transition_leaves_the_transition_unknown() {
    let (args, errors) = step_args(syn::parse_quote!(#[step(nxt = end)]));
    assert_eq!(errors.len(), 1);
    assert!(args.transition_unknown);
    let (args, errors) = step_args(syn::parse_quote!(#[step(next = end.x)]));
    assert_eq!(errors.len(), 1);
    assert!(args.transition_unknown);
}

#[test]
fn a_missing_comma_is_reported_at_what_follows() {
    let (_, errors) = step_args(syn::parse_quote!(#[step(next = end timeout = "1m")]));
    assert_eq!(errors, ["expected `,` after step option `next`"]);
}

#[test]
fn flow_options_parse_with_commas_inside_the_params_type() {
    let ctxt = Ctxt::new();
    let args = FlowArgs::parse(
        quote!(params = P<'static, u32>, schedule = "rate(1 day)", tags = ["a", "b"]),
        &ctxt,
    );
    ctxt.check().unwrap();
    let params = args.params.unwrap();
    assert_eq!(
        quote!(#params).to_string(),
        quote!(P<'static, u32>).to_string()
    );
    assert_eq!(args.schedule.unwrap().value(), "rate(1 day)");
    assert_eq!(args.tags.len(), 2);
}

#[test]
fn flow_options_report_every_mistake() {
    let ctxt = Ctxt::new();
    let args = FlowArgs::parse(
        quote!(
            parms = P,
            schedule = rate(1 day),
            tags = ["a", 1],
            params = Q,
            params = R
        ),
        &ctxt,
    );
    let errors: Vec<String> = ctxt
        .check()
        .unwrap_err()
        .into_iter()
        .map(|e| e.to_string())
        .collect();
    assert_eq!(errors.len(), 4, "{errors:?}");
    assert!(errors[0].starts_with("unknown flow option `parms`; did you mean `params`?"));
    assert!(errors[1].starts_with("flow option `schedule` takes a schedule expression"));
    assert!(errors[2].starts_with("flow option `tags` takes a list of strings"));
    assert_eq!(errors[3], "flow option `params` is given twice; keep one");
    assert!(args.params.is_some());
}
